package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

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

    @Test
    void readsTheRunningKernelsBuildIdAsPerfDoes() throws Exception {
        Assumptions.assumeTrue(TestTools.onPath("perf"), "perf is not on PATH");
        TestTools.Result perf = TestTools.run(List.of("perf", "buildid-list", "-k"));
        String expected = perf.stdout().strip();
        Assumptions.assumeTrue(perf.exitCode() == 0 && expected.matches("[0-9a-f]{8,}"),
                () -> "perf buildid-list -k gave no build-id: " + perf.stdout() + perf.stderr());

        ObjectBuildIds ids = new ObjectBuildIds();
        assertThat(ids.kernel()).isEqualTo(expected);
        assertThat(ids.kernel()).isEqualTo(expected);
    }

    /** One ELF note as the kernel lays them out: sizes and type, name and descriptor padded to 4 bytes. */
    static void note(ByteBuffer b, String name, int type, byte[] desc) {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        b.putInt(n.length).putInt(desc.length).putInt(type);
        b.put(n).position((b.position() + 3) & ~3);
        b.put(desc).position((b.position() + 3) & ~3);
    }

    @Test
    void findsTheGnuBuildIdAmongOtherNotesAndStopsAtBadOnes() throws Exception {
        byte[] id = HexFormat.of().parseHex("a3e4cd60a8ec14f02aa41b41d5b5846d3d9f1dd8");
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        note(b, "Linux", 0x101, new byte[] {1, 2, 3, 4, 5});   // descriptor padded from 5 to 8
        note(b, "Xen", 3, new byte[] {9, 9, 9, 9});              // type 3 but not GNU's
        note(b, "GNU", 3, id);
        b.flip();
        assertThat(ObjectBuildIds.gnuBuildId(b)).isEqualTo("a3e4cd60a8ec14f02aa41b41d5b5846d3d9f1dd8");
        Path file = Files.write(dir.resolve("notes"), Arrays.copyOf(b.array(), b.limit()));
        assertThat(ObjectBuildIds.kernelBuildId(file)).isEqualTo("a3e4cd60a8ec14f02aa41b41d5b5846d3d9f1dd8");

        // Cut inside the build-id's descriptor: no id, no exception.
        assertThat(ObjectBuildIds.gnuBuildId(ByteBuffer.wrap(Arrays.copyOf(b.array(), b.limit() - 4))
                .order(ByteOrder.nativeOrder()))).isEmpty();
        // A first note claiming 4 GiB of name: the walk stops there.
        ByteBuffer huge = ByteBuffer.allocate(12 + b.limit()).order(ByteOrder.nativeOrder());
        huge.putInt(-1).putInt(-1).putInt(3).put(b.array(), 0, b.limit()).flip();
        assertThat(ObjectBuildIds.gnuBuildId(huge)).isEmpty();
        assertThat(ObjectBuildIds.gnuBuildId(ByteBuffer.allocate(0))).isEmpty();
        assertThat(ObjectBuildIds.kernelBuildId(dir.resolve("absent"))).isEmpty();
        assertThat(ObjectBuildIds.kernelBuildId(dir)).isEmpty();
    }
}
