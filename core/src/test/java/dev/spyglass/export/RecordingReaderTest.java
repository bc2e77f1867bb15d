package dev.spyglass.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.ProfileEvent;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.export.SyntheticProfile;

/**
 * {@link RecordingReader} over files the {@code jsonl} format wrote: every field of every sample, the metadata
 * and the options come back equal; a file cut at any byte reads up to its last whole record; other input is a
 * {@link RecordingFormatException} naming the line.
 */
class RecordingReaderTest {

    static final ExporterProvider JSONL = ExportFormats.installed().byName("jsonl").orElseThrow();

    /** Samples with every field away from its usual value: what the synthetic profile lacks. */
    static List<StackSample> everyField() {
        List<StackSample> out = new ArrayList<>(SyntheticProfile.samples());
        long t = SyntheticProfile.T0 + 10_000_000;
        Frame py311 = new Frame(Frame.FrameKind.PYTHON, "f", "C.f", "/app/\u00e9 \"q\".py", 12, 14, 4, 27, 10);
        List<Frame> mixed = List.of(Frame.kernelFrame("vfs_read"), Frame.kernelFrame("[kernel]+0xffffffff81000000"),
                Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
                Frame.nativeFrame("x+0x10", "[anonymous]"), Frame.GARBAGE_COLLECTION, py311,
                Frame.NATIVE_FRAMES_UNKNOWN, Frame.INTERPRETER_SHUTDOWN);
        // a thread start time; a Python ident with the high bit set; a sub-interpreter; GIL false
        out.add(new StackSample(new ThreadStack(77, 78, 123_456, 0x8000_7f00_0000_0001L, "w\u0000\n\u2028", 3,
                ThreadState.RUNNING, false, mixed), t, 2_500_000));
        // the kernel thread id unknown: tid is the Python ident then
        out.add(new StackSample(new ThreadStack(77, -1, -1, 555, "thread-555", 0, ThreadState.IDLE, null, List.of(py311)),
                t + 1, 0));
        // a thread with no Python state (native frames of all threads)
        out.add(new StackSample(new ThreadStack(77, 79, 99, 0, "blas", -1, ThreadState.UNKNOWN, null,
                List.of(Frame.nativeFrame("dgemm", "/usr/lib/libblas.so.3"))), t + 2, 1));
        return out;
    }

    static final ProfileMetadata FINAL = SyntheticProfile.METADATA.toBuilder().achievedRate(987.123456789).build();
    static final ProfileMetadata EARLY = FINAL.toBuilder().samples(1).tornSamples(0).duration(Duration.ofMillis(1))
            .achievedRate(Double.NaN).build();

    static ExportOptions options(AtomicReference<ProfileMetadata> metadata) {
        return ExportOptions.builder().metadata(metadata::get).includeIdle(true).lineNumbers(false)
                .threads(ThreadGrouping.EACH).property("collapsed.value", "weight").property("html.title", "T\u00e9\"")
                .build();
    }

    /** A recording of {@code samples}: the header with early metadata, the end line with the final. */
    static byte[] record(List<StackSample> samples) throws IOException {
        AtomicReference<ProfileMetadata> metadata = new AtomicReference<>(EARLY);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = JSONL.create(out, options(metadata))) {
            samples.forEach(e::accept);
            metadata.set(FINAL);
        }
        return out.toByteArray();
    }

    static List<StackSample> readAll(RecordingReader r) throws IOException {
        List<StackSample> read = new ArrayList<>();
        for (ProfileEvent e = r.next(); e != null; e = r.next()) {
            read.add((StackSample) e);
        }
        return read;
    }

    @Test
    void everySampleMetadataAndOptionComeBackEqual() throws Exception {
        List<StackSample> samples = everyField();
        try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(record(samples)))) {
            assertThat(r.metadata()).as("the header's, before the end").isEqualTo(EARLY);
            ExportOptions o = r.exportOptions();
            assertThat(o.includeIdle()).isTrue();
            assertThat(o.lineNumbers()).isFalse();
            assertThat(o.threads()).isEqualTo(ThreadGrouping.EACH);
            assertThat(o.properties()).containsOnly(java.util.Map.entry("collapsed.value", "weight"),
                    java.util.Map.entry("html.title", "T\u00e9\""));
            assertThat(readAll(r)).containsExactlyElementsOf(samples);
            assertThat(r.metadata()).isEqualTo(FINAL);
            assertThat(o.metadata()).as("options' metadata is the reader's, live").isEqualTo(FINAL);
            assertThat(r.truncated()).isFalse();
            assertThat(r.samplesRead()).isEqualTo(samples.size());
        }
    }

    @Test
    void readsGzipAndBlankLinesAndFilesWithoutHeader() throws Exception {
        List<StackSample> samples = everyField();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(record(samples));
        }
        try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(gz.toByteArray()))) {
            assertThat(readAll(r)).containsExactlyElementsOf(samples);
            assertThat(r.metadata()).isEqualTo(FINAL);
        }

        ByteArrayOutputStream v1 = new ByteArrayOutputStream();
        try (Exporter e = JSONL.create(v1, ExportOptions.builder().metadata(FINAL).property("jsonl.metadata", "false")
                .build())) {
            samples.forEach(e::accept);
        }
        String text = v1.toString(StandardCharsets.UTF_8);
        assertThat(text).doesNotContain("\"type\"");
        try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(("\n" + text.replace("\n", "\r\n\n"))
                .getBytes(StandardCharsets.UTF_8)))) {
            assertThat(r.metadata()).isEqualTo(ProfileMetadata.UNKNOWN);
            assertThat(r.exportOptions().includeIdle()).isFalse();
            assertThat(readAll(r)).containsExactlyElementsOf(samples);
            ProfileMetadata derived = r.metadata();
            assertThat(derived.samples()).isEqualTo(samples.size());
            assertThat(derived.pid()).isEqualTo(SyntheticProfile.PID);
            assertThat(derived.duration()).isEqualTo(Duration.ofNanos(samples.get(samples.size() - 1).timestampNanos()
                    - SyntheticProfile.T0 - 1000));
            assertThat(derived.tornSamples()).isEqualTo(-1);
        }
    }

    @Test
    void aFileCutAtAnyByteIsReadUpToItsLastWholeRecord() throws Exception {
        List<StackSample> samples = everyField().subList(SyntheticProfile.ALL - 3, SyntheticProfile.ALL + 3);
        byte[] whole = record(samples);
        for (int cut = 0; cut < whole.length; cut++) {
            byte[] part = Arrays.copyOf(whole, cut);
            // whole lines in the part, and whether the part ends inside one
            int lines = 0;
            for (byte b : part) {
                lines += b == '\n' ? 1 : 0;
            }
            boolean insideLine = cut > 0 && part[cut - 1] != '\n';
            // A line cut right before its line break is whole: it is read, not called cut.
            boolean lastComplete = insideLine && whole[cut] == '\n';
            int completeLines = lines + (lastComplete ? 1 : 0);
            try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(part))) {
                List<StackSample> read = readAll(r);
                int wholeSamples = Math.max(0, Math.min(samples.size(), completeLines - 1));
                assertThat(read).as("cut at %d", cut).containsExactlyElementsOf(samples.subList(0, wholeSamples));
                assertThat(r.truncated()).as("cut at %d", cut).isEqualTo(insideLine && !lastComplete);
                if (completeLines < 2 + samples.size()) {
                    assertThat(r.metadata().samples()).as("cut at %d", cut).isEqualTo(read.size());
                } else {
                    assertThat(r.metadata()).isEqualTo(FINAL);
                }
            }
        }
    }

    @Test
    void garbageIsAFormatErrorNamingTheLine() throws Exception {
        assertThat(error("<!DOCTYPE html>\n<html>\n")).isEqualTo(
                "line 1: not JSON: unexpected character '<' at column 1");
        String good = new String(record(SyntheticProfile.samples().subList(0, 2)), StandardCharsets.UTF_8);
        String[] lines = good.split("\n");
        assertThat(error(lines[0] + "\n" + lines[1].replaceFirst("\"ts\":\\d+", "\"ts\":\"x\"") + "\n"))
                .isEqualTo("line 2: \"ts\" is not an integer");
        assertThat(error(lines[0] + "\n" + lines[1].replace("\"state\":\"running\"", "\"state\":\"zombie\"") + "\n"))
                .isEqualTo("line 2: \"state\" is not running, idle or unknown: \"zombie\"");
        assertThat(error(lines[0] + "\n" + lines[1].replace("\"kind\":\"python\"", "\"kind\":\"java\"") + "\n"))
                .isEqualTo("line 2: a frame's \"kind\" is unknown: \"java\"");
        assertThat(error(lines[0] + "\n" + lines[0] + "\n")).contains("line 2: a second recording header");
        assertThat(error(good + lines[1] + "\n")).isEqualTo("line 5: a record after the end line");
        assertThat(error("[1,2]\n")).isEqualTo("line 1: not a JSON object");
        // a container id goes into labels and metadata lines of every format: hex digits only
        assertThat(error(lines[0].replace("\"metadata\":{", "\"metadata\":{\"container\":\"ab\\ncd\",") + "\n"))
                .isEqualTo("line 1: metadata \"container\" is not a container id (hex digits)");
        assertThat(error("{\"pid\":1,\"pid\":2}\n")).startsWith("line 1: not JSON: member \"pid\" given twice");
        assertThat(error("{\"pid\":99999999999999999999}\n")).contains("64-bit");
        // garbage that ends the file without a line break is garbage too, not a cut record
        assertThat(error("{\"pid\":1,]")).startsWith("line 1: not JSON: ");
        assertThat(error("[".repeat(100_000))).contains("nested deeper than 32");
        byte[] binary = new byte[4096];
        new Random(42).nextBytes(binary);
        binary[100] = '\n';
        assertThatThrownBy(() -> RecordingReader.of(new ByteArrayInputStream(binary)).next())
                .isInstanceOf(RecordingFormatException.class).hasMessageStartingWith("line 1: ");
    }

    @Test
    void anEndlessLineIsRefusedAfterTheBoundNotReadIntoMemory() {
        long[] served = {0};
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                served[0]++;
                return 'a';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                Arrays.fill(b, off, off + len, (byte) '{');
                served[0] += len;
                return len;
            }
        };
        assertThatThrownBy(() -> RecordingReader.of(endless)).isInstanceOf(RecordingFormatException.class)
                .hasMessage("line 1: longer than 16 MiB");
        assertThat(served[0]).isLessThan(RecordingReader.MAX_LINE_BYTES + (1 << 17));
    }

    @Test
    void anEmptyFileIsARecordingWithoutSamples() throws Exception {
        try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(new byte[0]))) {
            assertThat(r.next()).isNull();
            assertThat(r.truncated()).isFalse();
            assertThat(r.metadata().samples()).isZero();
        }
    }

    private static String error(String text) {
        try (RecordingReader r = RecordingReader.of(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)))) {
            readAll(r);
        } catch (RecordingFormatException e) {
            return e.getMessage();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("read without error: " + text);
    }
}
