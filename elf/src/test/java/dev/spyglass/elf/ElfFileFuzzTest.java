package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Feeds arbitrary bytes to {@link ElfFile#of} and, when they parse, calls every accessor: the only
 * exception allowed out is {@link ElfFormatException} from parsing, naming the input.
 *
 * <p>A normal test run replays the seeds and every input that ever failed, kept in
 * {@code src/test/resources/dev/spyglass/elf/ElfFileFuzzTestInputs/parseAndReadEverything/}. Fuzzing for
 * 60 s: {@code JAZZER_FUZZ=1 ./mvnw -pl elf test -Dtest=ElfFileFuzzTest}; a new failing input lands in that
 * directory (keep it there as a regression input after fixing the bug).
 */
class ElfFileFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void parseAndReadEverything(byte[] data) {
        ElfFile elf;
        try {
            elf = ElfFile.of(MemorySegment.ofArray(data), "fuzz-input");
        } catch (ElfFormatException e) {
            assertThat(e.getMessage()).startsWith("fuzz-input: ");
            return;
        }
        ElfExerciser.exerciseAll(elf);
    }
}
