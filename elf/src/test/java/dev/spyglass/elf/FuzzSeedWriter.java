package dev.spyglass.elf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the fuzzer's seed inputs (small synthetic ELF files of each shape) into the regression inputs
 * directory. Run from the repository root after changing {@link TestElfBuilder}:
 * {@code java -cp elf/target/test-classes:elf/target/classes dev.spyglass.elf.FuzzSeedWriter}.
 */
final class FuzzSeedWriter {
    private FuzzSeedWriter() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "elf/src/test/resources/dev/spyglass/elf/ElfFileFuzzTestInputs/parseAndReadEverything");
        Files.createDirectories(dir);
        Map<String, byte[]> seeds = Map.of(
                "seed-gnu-hash", TestElfBuilder.typical().compact().build(),
                "seed-sysv-hash", TestElfBuilder.typical().compact().hash(TestElfBuilder.Hash.SYSV).build(),
                "seed-no-hash", TestElfBuilder.typical().compact().hash(TestElfBuilder.Hash.NONE).build(),
                "seed-no-section-headers", TestElfBuilder.typical().compact().withoutSectionHeaders().build(),
                "seed-exec", TestElfBuilder.typical().compact().type(ElfConstants.ET_EXEC).build());
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
    }
}
