package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.RecordingFormatException;
import dev.spyglass.export.RecordingReader;
import dev.spyglass.export.ThreadGrouping;

/**
 * The compact recording keeps every field jsonl keeps: the same samples written to both and read back give the
 * same samples, metadata and options, and each converted to jsonl gives the same bytes. Cut or damaged files
 * end in a cut or a {@link RecordingFormatException}, never anything else.
 */
class CompactRecordingTest {

    static final ProfileMetadata FIRST = ProfileMetadata.builder().command(List.of("python3", "x.py", "ünï côdé"))
            .pid(1234).pythonVersion("3.12.1").mode("wall").interval(Duration.ofMillis(1))
            .startEpochNanos(1_763_760_000_000_000_000L).container("cdbcfc838834").build();
    static final ProfileMetadata FINAL = FIRST.toBuilder().duration(Duration.ofSeconds(3)).samples(7).tornSamples(3)
            .droppedSamples(1).achievedRate(998.5).build();

    /** Samples with every kind of frame and every value of the thread fields, some repeated. */
    static List<StackSample> samples() {
        Frame leaf = new Frame(Frame.FrameKind.PYTHON, "leaf", "Outer.leaf", "/app/x.py", 9, 9, 8, 20, 8);
        Frame old = Frame.python("main", "main", "/app/x.py", 30);
        Frame qsort = Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6");
        Frame read = Frame.kernelFrame("vfs_read");
        List<StackSample> s = new ArrayList<>();
        long t = 1_763_760_000_123_456_789L;
        s.add(sample(1240, 81234, 140230, "MainThread", 0, ThreadState.RUNNING, true, List.of(leaf, old), t, 1_000_000));
        s.add(sample(1240, 81234, 140230, "MainThread", 0, ThreadState.RUNNING, true, List.of(leaf, old), t + 999_000,
                1_000_000));
        s.add(sample(-1, -1, -77, "wörker\n\"x\"", 1, ThreadState.IDLE, false, List.of(read, qsort, old), t + 5, 0));
        s.add(sample(1241, -1, 140231, "", 0, ThreadState.UNKNOWN, null, List.of(), t - 100, 4096));
        s.add(sample(1242, 5, 1, "gc", 0, ThreadState.RUNNING, null, List.of(Frame.GARBAGE_COLLECTION,
                Frame.asyncTask("fetch"), Frame.NATIVE_FRAMES_UNKNOWN), t + 2_000_000, Long.MAX_VALUE));
        s.add(sample(1240, 81234, 140230, "MainThread", 0, ThreadState.RUNNING, true, List.of(leaf, old), t + 3_000_000,
                7));
        s.add(sample(1240, 81234, 140230, "MainThread", -1, ThreadState.RUNNING, false, List.of(old), Long.MIN_VALUE, 1));
        return s;
    }

    static StackSample sample(long tid, long start, long pythonTid, String name, long interpreter, ThreadState state,
            Boolean gil, List<Frame> frames, long time, long weight) {
        return new StackSample(new ThreadStack(1234, tid, start, pythonTid, name, interpreter, state, gil, frames), time,
                weight);
    }

    static ExportOptions options(ProfileMetadata[] now) {
        return ExportOptions.builder().metadata(() -> now[0]).includeIdle(true).lineNumbers(false)
                .threads(ThreadGrouping.EACH).property("html.title", "Ünï").property("collapsed.value", "weight")
                .build();
    }

    /** {@code samples} written in {@code format}, the metadata final at close as during a recording. */
    static byte[] write(String format, List<StackSample> samples) throws IOException {
        ProfileMetadata[] now = {FIRST};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = ExportFormats.installed().byName(format).orElseThrow().create(out, options(now))) {
            samples.forEach(e::accept);
            now[0] = FINAL;
        }
        return out.toByteArray();
    }

    /** The recording {@code bytes} converted to {@code format}, as {@code spyglass convert} does. */
    static byte[] convert(byte[] bytes, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(bytes));
                Exporter e = ExportFormats.installed().byName(format).orElseThrow().create(out, in.exportOptions())) {
            in.drainTo(e);
        }
        return out.toByteArray();
    }

    @Test
    void everyFieldSurvivesAndConvertsAsTheJsonlRecordingDoes() throws IOException {
        byte[] compact = write("sgr", samples());
        List<StackSample> read = new ArrayList<>();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(compact))) {
            assertThat(in.metadata()).isEqualTo(FIRST);
            in.drainTo(read::add);
            assertThat(in.metadata()).isEqualTo(FINAL);
            assertThat(in.truncated()).isFalse();
            ExportOptions o = in.exportOptions();
            assertThat(o.includeIdle()).isTrue();
            assertThat(o.lineNumbers()).isFalse();
            assertThat(o.threads()).isEqualTo(ThreadGrouping.EACH);
            assertThat(o.properties()).containsExactlyInAnyOrderEntriesOf(options(new ProfileMetadata[1]).properties());
        }
        assertThat(read).containsExactlyElementsOf(samples());

        byte[] jsonl = write("jsonl", samples());
        assertThat(new String(convert(compact, "jsonl"), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo(new String(jsonl, java.nio.charset.StandardCharsets.UTF_8));
        for (String format : ExportFormats.installed().names()) {
            assertThat(Arrays.equals(convert(compact, format), convert(jsonl, format)))
                    .as("%s from the compact recording equals the one from jsonl", format).isTrue();
        }
        // and back: the compact file written from the jsonl one is the compact file written directly
        assertThat(Arrays.equals(convert(jsonl, "sgr"), compact)).isTrue();
    }

    @Test
    void aRecordingWithoutSamplesHasItsHeaderAndEndAndIsReadByItsMagicAlsoGzipped() throws IOException {
        byte[] empty = write("sgr", List.of());
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(empty))) {
            assertThat(in.next()).isNull();
            assertThat(in.metadata()).isEqualTo(FINAL);
        }
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(write("sgr", samples()));
        }
        List<StackSample> read = new ArrayList<>();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(gz.toByteArray()))) {
            in.drainTo(read::add);
        }
        assertThat(read).containsExactlyElementsOf(samples());
    }

    @Test
    void repeatedSamplesTakeAFewBytesEachAndTheTablesStartOverPastTheirBound() throws IOException {
        List<StackSample> repeated = new ArrayList<>();
        StackSample first = samples().get(0);
        for (int i = 0; i < 10_000; i++) {
            repeated.add(new StackSample(first.thread(), first.timestampNanos() + i * 1_000_123L, 1_000_000));
        }
        int once = write("sgr", repeated.subList(0, 1)).length;
        // tag, thread, stack, time (3 bytes for a millisecond) and weight (unchanged: 1 byte)
        assertThat(write("sgr", repeated).length - once).isEqualTo(9_999 * 7);

        // More distinct frames than a table holds: the writer resets, the reader follows, nothing is lost.
        List<StackSample> distinct = new ArrayList<>();
        for (int i = 0; i < CompactFormat.MAX_ENTRIES + 100; i++) {
            distinct.add(sample(7, 1, 2, "t", 0, ThreadState.RUNNING, true,
                    List.of(Frame.python("f", "f", "/a.py", i)), i, 1));
        }
        byte[] compact = write("sgr", distinct);
        List<StackSample> read = new ArrayList<>();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(compact))) {
            in.drainTo(read::add);
        }
        assertThat(read).containsExactlyElementsOf(distinct);
    }

    @Test
    void aStackDeeperThanTheFormatHoldsIsRefusedWithItsDepth() {
        List<Frame> deep = java.util.Collections.nCopies(CompactFormat.MAX_STACK_DEPTH + 1, Frame.python("f", "f",
                "/a.py", 1));
        assertThatThrownBy(() -> write("sgr", List.of(sample(1, 1, 1, "t", 0, ThreadState.RUNNING, true, deep, 1, 1))))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("a stack of 16385 frames is deeper");
    }

    /** Every prefix of a file reads as a recording cut short, with no sample that was not written. */
    @Test
    void everyCutEndsAsACutWithTheSamplesBeforeIt() throws IOException {
        byte[] whole = write("sgr", samples());
        for (int n = CompactRecordSource.MAGIC_LENGTH; n < whole.length; n++) {
            List<StackSample> read = new ArrayList<>();
            try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(Arrays.copyOf(whole, n)))) {
                in.drainTo(read::add);
                assertThat(read).as("cut at %d", n).isEqualTo(samples().subList(0, read.size()));
                assertThat(in.metadata().samples()).isEqualTo(read.size());
                if (in.truncated()) {
                    continue;
                }
                // a cut between records: the file just ends (as a jsonl one cut after a line break)
                assertThat(in.metadata().tornSamples()).as("cut at %d", n).isEqualTo(-1);
            }
        }
    }

    /** Each byte changed to each of a few values: a sample, a cut or a format error, nothing else. */
    @Test
    void damagedBytesGiveAFormatErrorOrSamplesNeverAnotherFailure() throws IOException {
        byte[] whole = write("sgr", samples());
        int errors = 0;
        for (int i = 0; i < whole.length; i++) {
            for (int v : new int[] {0x00, 0x01, 0x7f, 0x80, 0xff, whole[i] ^ 0x40}) {
                byte[] damaged = whole.clone();
                damaged[i] = (byte) v;
                try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(damaged))) {
                    while (in.next() != null) {
                        assertThat(in.samplesRead()).isLessThanOrEqualTo(samples().size());
                    }
                } catch (RecordingFormatException e) {
                    errors++;
                    assertThat(e.getMessage()).matches("(byte|line) \\d+: .+");
                }
            }
        }
        assertThat(errors).isPositive();
    }

    @Test
    void errorsNameTheRecordsOffsetAndWhatIsWrong() throws IOException {
        byte[] whole = write("sgr", samples());
        int magic = CompactRecordSource.MAGIC_LENGTH;
        byte[] newer = whole.clone();
        newer[magic] = 2;
        assertThat(error(newer)).isEqualTo("byte 8: version 2 of the compact recording format; this reader knows "
                + "version 1");
        byte[] unknown = whole.clone();
        unknown[magic + 1] = (byte) 0xc3;
        assertThat(error(unknown)).isEqualTo("byte 9: unknown record tag 0xc3");
        byte[] after = Arrays.copyOf(whole, whole.length + 1);
        after[whole.length] = CompactFormat.RESET;
        assertThat(error(after)).isEqualTo("byte " + whole.length + ": a record after the end line");
        // a sample naming a stack no record defined
        byte[] bad = Arrays.copyOf(Arrays.copyOf(whole, magic + 1), magic + 5);
        bad[magic + 1] = (byte) CompactFormat.SAMPLE;
        assertThat(error(bad)).isEqualTo("byte 9: a sample's thread number 0 is out of range (below 0)");
        // a later version's skippable record is skipped
        int end = whole.length - 1;
        while (cut(Arrays.copyOf(whole, end))) {
            end--;
        }
        byte[] later = Arrays.copyOf(whole, whole.length + 4);
        System.arraycopy(whole, end, later, end + 4, whole.length - end);
        later[end] = 0x41;
        later[end + 1] = 2;
        List<StackSample> read = new ArrayList<>();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(later))) {
            in.drainTo(read::add);
        }
        assertThat(read).containsExactlyElementsOf(samples());
    }

    /** Whether {@code bytes} read as a recording cut inside a record. */
    private static boolean cut(byte[] bytes) throws IOException {
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(bytes))) {
            in.drainTo(s -> { });
            return in.truncated();
        }
    }

    private static String error(byte[] bytes) {
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(bytes))) {
            in.drainTo(s -> { });
        } catch (RecordingFormatException e) {
            return e.getMessage();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no error");
    }
}
