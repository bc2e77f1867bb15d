package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.elf.ElfFile;

class ObjectBuildIdsTest {

    static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    static String buildIdOf(Path file) throws Exception {
        try (ElfFile elf = ElfFile.open(file)) {
            return elf.buildIdHex().orElse("");
        }
    }

    @Test
    void readsTheBuildIdThroughTheTargetsRootAndCachesItPerPath() throws Exception {
        Path libc = Path.of(NativeFrameExportTest.LIBC);
        String expected = buildIdOf(libc);
        Assumptions.assumeFalse(expected.isEmpty(), libc + " has no build-id");
        Path copy = dir.resolve("libcopy.so.6");
        Files.copy(libc, copy);
        ObjectBuildIds ids = new ObjectBuildIds();

        assertThat(ids.of(libc.toString(), PID)).isEqualTo(expected);
        // No such process (beyond pid_max): the path is read as it is.
        assertThat(ids.of(copy.toString(), 1L << 40)).isEqualTo(expected);
        // Read once: the file gone, the id stays.
        Files.delete(copy);
        assertThat(ids.of(copy.toString(), -1)).isEqualTo(expected);
        assertThat(new ObjectBuildIds().of(copy.toString(), -1)).isEmpty();
    }

    @Test
    void isEmptyForWhatIsNoReadableElfFile() throws Exception {
        Path text = Files.writeString(dir.resolve("notes.txt"), "not an ELF file\n");
        ObjectBuildIds ids = new ObjectBuildIds();

        assertThat(ids.of(text.toString(), PID)).isEmpty();
        assertThat(ids.of(dir.toString(), PID)).isEmpty();
        assertThat(ids.of("[anonymous]", PID)).isEmpty();
        assertThat(ids.of("[vdso]", PID)).isEmpty();
        assertThat(ids.of("relative/libx.so", PID)).isEmpty();
        assertThat(ids.of("/nonexistent/libgone.so.1", PID)).isEmpty();
    }
}
