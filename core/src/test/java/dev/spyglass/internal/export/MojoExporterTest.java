package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.ALL;
import static dev.spyglass.internal.export.SyntheticProfile.IDLE_N;
import static dev.spyglass.internal.export.SyntheticProfile.MAIN_TID;
import static dev.spyglass.internal.export.SyntheticProfile.METADATA;
import static dev.spyglass.internal.export.SyntheticProfile.PID;
import static dev.spyglass.internal.export.SyntheticProfile.T0;
import static dev.spyglass.internal.export.SyntheticProfile.WEIGHT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;

/** {@link MojoExporter} read back by {@link MojoFormat}, a decoder written from Austin's format description. */
class MojoExporterTest {

    static byte[] write(MojoExporter.Builder b, List<StackSample> samples) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MojoExporter e = b.build(out)) {
            samples.forEach(e::accept);
        }
        return out.toByteArray();
    }

    /** A frame as {@link MojoExporter}'s documentation says it is written. */
    static MojoFormat.Frame expected(Frame f) {
        String name = escaped(f.qualifiedName().isEmpty() ? f.function() : f.qualifiedName());
        String file = escaped(f.file());
        return switch (f.kind()) {
            case KERNEL -> MojoFormat.Frame.kernel(name);
            case PYTHON -> new MojoFormat.Frame(file, name, Math.max(0, f.line()), Math.max(0, f.endLine()),
                    f.column() >= 0 ? f.column() + 1 : 0, f.endColumn() >= 0 ? f.endColumn() + 1 : 0);
            default -> new MojoFormat.Frame(file, name, 0, 0, 0, 0);
        };
    }

    /** A backslash doubled, C0, DEL and C1 controls as {@code \\xHH}: the escapes of the text formats. */
    static String escaped(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\\') {
                sb.append("\\\\");
            } else if (c < 0x20 || c >= 0x7f && c <= 0x9f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static List<MojoFormat.Frame> expectedRootFirst(StackSample s) {
        List<MojoFormat.Frame> out = new ArrayList<>();
        for (int i = s.frames().size() - 1; i >= 0; i--) {
            out.add(expected(s.frames().get(i)));
        }
        return out;
    }

    /** Sample by sample: process, interpreter, thread, frames root first, time in µs, idle marker. */
    static void assertSameSamples(List<MojoFormat.Sample> decoded, List<StackSample> written) {
        assertThat(decoded).hasSameSizeAs(written);
        for (int i = 0; i < written.size(); i++) {
            StackSample s = written.get(i);
            MojoFormat.Sample d = decoded.get(i);
            assertThat(d.pid()).as("pid of sample %d", i).isEqualTo(s.pid());
            assertThat(d.iid()).isEqualTo(s.interpreterId());
            // The TID, or the thread's ident while its TID is not known yet (2.7 learns it after the first looks).
            assertThat(d.thread()).isEqualTo(Long.toHexString(s.nativeThreadId() >= 0 ? s.nativeThreadId()
                    : s.pythonThreadId()));
            assertThat(d.rootFirst()).as("frames of sample %d", i).isEqualTo(expectedRootFirst(s));
            assertThat(d.time()).isEqualTo(Math.round(s.weightNanos() / 1000.0));
            assertThat(d.memory()).isNull();
            assertThat(d.idle()).isEqualTo(s.state() == ThreadState.IDLE);
            assertThat(d.invalidFrames()).isZero();
        }
    }

    @Test
    void writesVersionMetadataAndEverySample() throws Exception {
        List<StackSample> samples = SyntheticProfile.samples();
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder().metadata(METADATA), samples));

        assertThat(p.version()).isEqualTo(4);
        assertThat(p.metadata()).containsEntry("mode", "wall").containsEntry("interval", "1000")
                .containsEntry("python", "3.11.7").containsEntry("command", "python3 x.py --n 3")
                .containsEntry("duration", "150000").containsEntry("samples", Integer.toString(ALL))
                .containsEntry("errors", "5/" + (ALL + 5)).containsEntry("dropped", "0")
                .containsEntry("rate", "987.5").containsKey("spyglass");
        assertSameSamples(p.samples(), samples);
        assertThat(p.samples().get(0).thread()).isEqualTo(Long.toHexString(MAIN_TID));
        assertThat(p.samples()).filteredOn(MojoFormat.Sample::idle).hasSize(IDLE_N);
        assertThat(p.samples()).filteredOn(s -> s.rootFirst().isEmpty()).hasSize(SyntheticProfile.EMPTY_N);
    }

    /** Each string and frame is sent once per process; later samples refer to it by key. */
    @Test
    void definesEachFrameOncePerProcess() throws Exception {
        Frame leaf = SyntheticProfile.LEAF;
        Frame module = SyntheticProfile.MODULE;
        List<StackSample> samples = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            samples.add(sample(PID, 1240, ThreadState.RUNNING, leaf, module));
            samples.add(sample(PID + 1, 1300, ThreadState.RUNNING, leaf, module));
        }
        byte[] file = write(MojoExporter.builder(), samples);
        MojoFormat.Profile p = MojoFormat.parse(file);

        assertSameSamples(p.samples(), samples);
        // Two processes, each: the strings "/app/x.py", "Outer.leaf", "<module>" and two frames.
        assertThat(count(file, "/app/x.py")).isEqualTo(2);
        assertThat(count(file, "Outer.leaf")).isEqualTo(2);
    }

    @Test
    void writesNativeFramesKernelFramesPseudoFramesAndColumnsAsAustin4Does() throws Exception {
        Frame located = new Frame(Frame.FrameKind.PYTHON, "leaf", "Outer.leaf", "/app/x.py", 9, 11, 4, 17, 8);
        Frame qsort = Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6");
        Frame eval = Frame.nativeFrame("_PyEval_EvalFrameDefault", "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0");
        Frame module = SyntheticProfile.MODULE;
        List<StackSample> samples = List.of(
                sample(PID, 1240, ThreadState.RUNNING, qsort, located, eval, module),
                sample(PID, 1241, ThreadState.IDLE, Frame.kernelFrame("futex_wait"),
                        Frame.kernelFrame("do_futex"), qsort, module),
                sample(PID, 1240, ThreadState.RUNNING, Frame.GARBAGE_COLLECTION, located, module),
                sample(PID, 1240, ThreadState.RUNNING, Frame.INTERPRETER_SHUTDOWN));
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder(), samples));

        assertSameSamples(p.samples(), samples);
        assertThat(p.samples().get(0).rootFirst()).containsExactly(
                new MojoFormat.Frame("/app/x.py", "<module>", 30, 0, 0, 0),
                new MojoFormat.Frame("/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0", "_PyEval_EvalFrameDefault",
                        0, 0, 0, 0),
                // CPython's 0-based columns 4..17 are Austin's 1-based 5..18
                new MojoFormat.Frame("/app/x.py", "Outer.leaf", 9, 11, 5, 18),
                new MojoFormat.Frame("/usr/lib/x86_64-linux-gnu/libc.so.6", "qsort", 0, 0, 0, 0));
        assertThat(p.samples().get(1).rootFirst()).endsWith(MojoFormat.Frame.kernel("do_futex"),
                MojoFormat.Frame.kernel("futex_wait"));
        assertThat(p.samples().get(1).idle()).isTrue();
        assertThat(p.samples().get(2).gc()).isTrue();
        assertThat(p.samples().get(2).rootFirst()).last().isEqualTo(new MojoFormat.Frame("", "<GC>", 0, 0, 0, 0));
        assertThat(p.samples().get(3).gc()).isFalse();
        assertThat(p.samples().get(3).rootFirst()).containsExactly(
                new MojoFormat.Frame("", "<interpreter shutdown>", 0, 0, 0, 0));
    }

    @Test
    void negativeAndLargeNumbersUseTheSignBitAndMoreBytes() throws Exception {
        StackSample s = new StackSample(new ThreadStack(4_194_304, 0x7fff_ffffL, 1, "t", -3, ThreadState.RUNNING,
                true, List.of(Frame.python("f", "f", "/a.py", 1_000_000))), T0, 3_600_000_000_000L);
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder(), List.of(s)));

        assertSameSamples(p.samples(), List.of(s));
        assertThat(p.samples().get(0).iid()).isEqualTo(-3);
        assertThat(p.samples().get(0).time()).isEqualTo(3_600_000_000L);
    }

    /** Memory mode: Austin's memory metric in bytes, a release negative and without its marker frame. */
    @Test
    void memoryModeWritesTheMemoryMetricNegativeForAReleaseAsAustinDoes() throws Exception {
        Frame grow = Frame.python("grow", "grow", "/app/m.py", 3);
        Frame release = Frame.python("release", "release", "/app/m.py", 7);
        StackSample up = new StackSample(new ThreadStack(PID, 1240, 1, "MainThread", 0, ThreadState.RUNNING, true,
                List.of(grow)), T0, 409_600);
        StackSample down = new StackSample(new ThreadStack(PID, 1240, 1, "MainThread", 0, ThreadState.RUNNING, true,
                List.of(release, Frame.MEMORY_RELEASED)), T0 + 1000, 8192);
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder().metadata(
                METADATA.toBuilder().mode("memory").build()), List.of(up, down)));

        assertThat(p.metadata()).containsEntry("mode", "memory");
        assertThat(p.samples()).extracting(MojoFormat.Sample::memory).containsExactly(409_600L, -8192L);
        assertThat(p.samples()).extracting(MojoFormat.Sample::time).containsOnlyNulls();
        assertThat(p.samples().get(1).rootFirst()).containsExactly(new MojoFormat.Frame("/app/m.py", "release", 7, 0, 0, 0));
    }

    /** A target's names are its data: an ESC must not reach a terminal, a NUL must not end a MOJO string. */
    @Test
    void controlCharactersAreEscapedSoNoStringHoldsANul() throws Exception {
        Frame bad = Frame.python("bad", "bad\u001b[31mname\u0000\\", "/app/e\u0007.py", 3);
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder(),
                List.of(sample(PID, 1240, ThreadState.RUNNING, bad))));

        assertThat(p.samples().get(0).rootFirst()).containsExactly(
                new MojoFormat.Frame("/app/e\\x07.py", "bad\\x1b[31mname\\x00\\\\", 3, 0, 0, 0));
    }

    @Test
    void withoutMetadataOrSamplesStillWritesAValidFile() throws Exception {
        byte[] file = write(MojoExporter.builder(), List.of());
        MojoFormat.Profile p = MojoFormat.parse(file);

        assertThat(Arrays.copyOf(file, 4)).containsExactly('M', 'O', 'J', 4);
        assertThat(p.metadata()).containsEntry("mode", "wall").doesNotContainKey("interval");
        assertThat(p.samples()).isEmpty();
    }

    @Test
    void gilModeIsWrittenAsCpu() throws Exception {
        MojoFormat.Profile p = MojoFormat.parse(write(MojoExporter.builder()
                .metadata(ProfileMetadata.builder().mode("gil").build()), List.of()));

        assertThat(p.metadata()).containsEntry("mode", "cpu");
    }

    /**
     * The decoder against Austin's own writer: {@code austin-3.7.0-hot.mojo} was written by Austin 3.7.0 (built
     * from its v3.7.0 source) as {@code austin -b -i 2ms -o austin-3.7.0-hot.mojo python3.12 hot.py 1.2}, where
     * {@code hot.py} loops in {@code hot_leaf} (lines 4 and 5) under {@code driver} until a deadline. MOJO 3 has
     * version 4's events but the stack repeat; Austin's string keys are masked addresses, several bytes long.
     */
    @Test
    void theDecoderReadsAFileAustinItselfWrote() throws Exception {
        byte[] austin;
        try (var in = MojoExporterTest.class.getResourceAsStream("austin-3.7.0-hot.mojo")) {
            austin = in.readAllBytes();
        }
        MojoFormat.Profile p = MojoFormat.parse(austin);

        assertThat(p.version()).isEqualTo(3);
        assertThat(p.metadata()).containsEntry("austin", "3.7.0").containsEntry("mode", "wall")
                .containsEntry("interval", "2000").containsEntry("duration", "1270280");
        assertThat(p.samples()).hasSize(570).allSatisfy(s -> assertThat(s.time()).isPositive());
        List<MojoFormat.Sample> hot = p.samples().stream().filter(s -> !s.rootFirst().isEmpty()
                && s.rootFirst().get(s.rootFirst().size() - 1).name().equals("hot_leaf")).toList();
        assertThat(hot).hasSizeGreaterThan(500).allSatisfy(s -> {
            List<MojoFormat.Frame> f = s.rootFirst();
            assertThat(f.stream().map(MojoFormat.Frame::name)).containsExactly("<module>", "driver", "hot_leaf");
            assertThat(f.get(2).file()).isEqualTo("/tmp/mojo-austin/hot.py");
            assertThat(f.get(2).line()).isBetween(4L, 5L);
            // Austin's columns are 1-based: `s += i * i` (line 5) starts at column 9, its first `i` at 14
            assertThat(f.get(2).column()).isPositive();
        });
        assertThat(hot).anySatisfy(s -> assertThat(s.rootFirst().get(2))
                .isEqualTo(new MojoFormat.Frame("/tmp/mojo-austin/hot.py", "hot_leaf", 5, 5, 14, 15)));
    }

    @Test
    void theDecoderRefusesAReferenceToAnUndefinedFrame() {
        byte[] bad = {'M', 'O', 'J', 4, 2, 1, 0, 'a', 0, 5, 7, 9, 1};
        assertThatThrownBy(() -> MojoFormat.parse(bad)).hasMessageContaining("frame 7");
    }

    static StackSample sample(long pid, long tid, ThreadState state, Frame... innermostFirst) {
        return new StackSample(new ThreadStack(pid, tid, tid, "t" + tid, 0, state, null, List.of(innermostFirst)),
                T0, WEIGHT);
    }

    private static int count(byte[] haystack, String needle) {
        byte[] n = needle.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int found = 0;
        outer:
        for (int i = 0; i + n.length <= haystack.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (haystack[i + j] != n[j]) {
                    continue outer;
                }
            }
            found++;
        }
        return found;
    }
}
