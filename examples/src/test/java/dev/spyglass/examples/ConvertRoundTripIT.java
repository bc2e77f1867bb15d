package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.Frame;
import dev.spyglass.Sampler;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.RecordingReader;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code convert} round-trips: a real Python process recorded to {@code .jsonl} and, in the same run, directly
 * to every installed format ({@code record -o} repeated); the {@code .jsonl} converted to each format must give
 * the very bytes written directly, and so must the compact {@code .sgr} recording (converted to jsonl too). Every format {@link ExportFormats#installed()} lists is covered, so a format
 * added later is checked without a change here. All formats are deterministic today (same samples, same
 * metadata, same bytes); a format that embeds something of the moment it is written would need a comparison of
 * its decoded content here instead, and a line in docs/cli.md saying which field differs.
 *
 * <p>Cases run two at a time: each waits mostly for three CLI JVMs and a 2.5 s script, and asserts equal bytes,
 * never a rate (one after another they took 130 – 160 s of the suite).
 */
@Execution(ExecutionMode.CONCURRENT)
class ConvertRoundTripIT {

    @TempDir
    Path dir;

    /** Each installed format with the file name ending that selects it (formats claiming none are left out). */
    static Map<String, ExporterProvider> formatsByEnding() {
        Map<String, ExporterProvider> byEnding = new LinkedHashMap<>();
        for (ExporterProvider p : ExportFormats.installed().all()) {
            if (!p.fileExtensions().isEmpty() && !p.formatName().equals("jsonl")) {
                byEnding.put(p.fileExtensions().get(0), p);
            }
        }
        return byEnding;
    }

    @ForEachPython
    void convertingTheRecordingEqualsWritingEachFormatDirectlyOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // Options away from their defaults, so the test sees them carried by the recording to the conversion.
        Path recording = roundTrip(py, List.of("-i", "2ms", "--idle", "--threads", "each", "--collapsed-weights",
                "--format-option", "html.title=Round trip"));

        // The recording's own view: the target's metadata, final counts, and the options given to record.
        try (RecordingReader r = RecordingReader.open(recording)) {
            long samples = r.drainTo(s -> { });
            ProfileMetadata m = r.metadata();
            assertThat(m.pythonVersion()).startsWith(py.major() + "." + py.minor() + ".");
            assertThat(m.samples()).isEqualTo(samples).isPositive();
            assertThat(m.interval()).isEqualTo(Duration.ofMillis(2));
            assertThat(m.command()).containsExactlyElementsOf(py.commandLine(dir.resolve("hot.py").toString(), "2.5"));
            ExportOptions o = r.exportOptions();
            assertThat(o.includeIdle()).isTrue();
            assertThat(o.threads()).isEqualTo(dev.spyglass.export.ThreadGrouping.EACH);
            assertThat(o.properties()).containsEntry("collapsed.value", "weight")
                    .containsEntry("html.title", "Round trip");
        }
        String html = Files.readString(dir.resolve("converted.html"));
        assertThat(html).contains("Round trip").contains("hot_leaf");
    }

    /** Native and kernel frames (and pprof's mappings and build-ids for them) survive the round trip too. */
    @Test
    void nativeAndKernelFramesConvertAsWrittenDirectly() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        assumeTrue(Sampler.kernelFramesRefusal().isEmpty(), "kernel frames refused here");
        Path recording = roundTrip(py, List.of("-i", "5ms", "--native", "--kernel"));
        String text = Files.readString(recording);
        assertThat(text).contains("\"kind\":\"native\"").contains("\"kind\":\"kernel\"");

        Path python = dir.resolve("python-only.collapsed");
        SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", "--no-native", "--no-kernel",
                recording.toString(), python.toString()), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(python)).doesNotContain("_[k]").doesNotContain(".so").contains("hot_leaf (");
    }

    /**
     * Records the script with {@code options} to {@code rec.jsonl} and to every installed format at once, converts
     * the recording to each format and requires the bytes written directly.
     */
    private Path roundTrip(PythonInterpreter py, List<String> options) throws Exception {
        Path script = dir.resolve("hot.py");
        Files.writeString(script, SpyglassCliIT.SCRIPT);
        Map<String, ExporterProvider> formats = formatsByEnding();
        assertThat(formats).hasSizeGreaterThanOrEqualTo(5);
        Path recording = dir.resolve("rec.jsonl");
        List<String> record = new ArrayList<>(SpyglassCliIT.cli("record"));
        record.addAll(options);
        record.addAll(List.of("-o", recording.toString()));
        List<String> convert = new ArrayList<>(SpyglassCliIT.cli("convert", recording.toString()));
        for (String ending : formats.keySet()) {
            record.addAll(List.of("-o", dir.resolve("direct" + ending).toString()));
            convert.add(dir.resolve("converted" + ending).toString());
        }
        record.add("--");
        record.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result recorded = SpyglassCliIT.run(record, py.environment(), 90);
        // (A thread that cannot be stopped as the target exits is said in a line, the recording still ends well.)
        assumeTrue(recorded.exit() == 0 || !recorded.err().contains("ptrace"), "ptrace refused: " + recorded.err());
        assertThat(recorded.exit()).as(recorded.err()).isZero();
        assertThat(recorded.err()).doesNotContain("recording without");
        for (String ending : formats.keySet()) {
            assertThat(recorded.err()).contains("spyglass: wrote " + formats.get(ending).formatName() + " profile to "
                    + dir.resolve("direct" + ending).toAbsolutePath());
        }

        SpyglassCliIT.Result converted = SpyglassCliIT.run(convert, 90);
        assertThat(converted.exit()).as(converted.err()).isZero();
        assertThat(converted.err()).doesNotContain("cut short");

        for (Map.Entry<String, ExporterProvider> f : formats.entrySet()) {
            byte[] direct = Files.readAllBytes(dir.resolve("direct" + f.getKey()));
            byte[] fromRecording = Files.readAllBytes(dir.resolve("converted" + f.getKey()));
            assertThat(direct).as("%s written directly", f.getValue().formatName()).isNotEmpty();
            assertThat(Arrays.equals(direct, fromRecording)).as("%s converted from the recording equals the one "
                    + "written directly (%d and %d bytes)", f.getValue().formatName(), fromRecording.length,
                    direct.length).isTrue();
        }

        // The compact recording written in the same run converts to every format, jsonl too, as written directly.
        Path compact = dir.resolve("direct.sgr");
        List<String> fromCompact = new ArrayList<>(SpyglassCliIT.cli("convert", compact.toString()));
        Map<String, Path> directByEnding = new LinkedHashMap<>();
        directByEnding.put(".jsonl", recording);
        formats.keySet().forEach(ending -> directByEnding.put(ending, dir.resolve("direct" + ending)));
        directByEnding.keySet().forEach(ending -> fromCompact.add(dir.resolve("from-sgr" + ending).toString()));
        SpyglassCliIT.Result convertedCompact = SpyglassCliIT.run(fromCompact, 90);
        assertThat(convertedCompact.exit()).as(convertedCompact.err()).isZero();
        assertThat(convertedCompact.err()).doesNotContain("cut short");
        for (Map.Entry<String, Path> f : directByEnding.entrySet()) {
            byte[] direct = Files.readAllBytes(f.getValue());
            byte[] fromSgr = Files.readAllBytes(dir.resolve("from-sgr" + f.getKey()));
            assertThat(Arrays.equals(direct, fromSgr)).as("%s converted from the compact recording equals the one "
                    + "written directly (%d and %d bytes)", f.getKey(), fromSgr.length, direct.length).isTrue();
        }
        System.out.printf("%s: jsonl %d bytes, sgr %d bytes%n", py, Files.size(recording), Files.size(compact));
        return recording;
    }

    /** A small recording made through the library, with a native and a kernel frame. */
    private Path smallRecording() throws Exception {
        return smallRecording("jsonl");
    }

    private Path smallRecording(String format) throws Exception {
        Path file = dir.resolve("small." + format);
        ExporterProvider jsonl = ExportFormats.installed().byName(format).orElseThrow();
        Frame py = Frame.python("work", "work", "/app/w.py", 3, 1);
        List<Frame> frames = List.of(Frame.kernelFrame("vfs_read"), Frame.nativeFrame("qsort", "/lib/libc.so.6"), py);
        try (Exporter e = ExportFormats.create(jsonl, file, ExportOptions.builder()
                .metadata(ProfileMetadata.builder().pid(7).pythonVersion("3.12.1").mode("wall").build()).build())) {
            for (int i = 0; i < 50; i++) {
                e.accept(new StackSample(new ThreadStack(7, 8, 100, 9, "MainThread", 0, ThreadState.RUNNING, true,
                        frames), 1_000_000_000L + i, 1_000_000));
            }
        }
        return file;
    }

    @Test
    void aCutRecordingIsConvertedUpToItsLastWholeSampleAndSaysSoOnce() throws Exception {
        Path whole = smallRecording();
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.jsonl");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length * 2 / 3));
        Path out = dir.resolve("cut.collapsed");
        SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", cut.toString(), out.toString()), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err().split("cut short", -1)).as(r.err()).hasSize(2);
        String text = Files.readString(out).strip();
        long n = Long.parseLong(text.substring(text.lastIndexOf(' ') + 1));
        assertThat(n).isBetween(20L, 40L);
        assertThat(text).contains("vfs_read_[k]").contains("qsort (libc.so.6)");

        // --no-native and --no-kernel leave those frames out after the fact
        Path python = dir.resolve("python.collapsed");
        r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", "--no-native", "--no-kernel", whole.toString(),
                python.toString()), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readString(python)).doesNotContain("vfs_read").doesNotContain("qsort").contains("work (");
    }

    @Test
    void aCutCompactRecordingConvertsUpToItsCutAndADamagedOneEndsWithItsOffset() throws Exception {
        byte[] bytes = Files.readAllBytes(smallRecording("sgr"));
        Path cut = dir.resolve("cut.sgr");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 3));
        Path out = dir.resolve("cut.collapsed");
        SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", cut.toString(), out.toString()), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("was cut short").contains("converted the 50 samples before it");
        assertThat(Files.readString(out)).contains("vfs_read_[k]").contains("qsort (libc.so.6)").contains(" 50");

        // told by its magic whatever its name; an unknown record tag after the header is named with its offset
        Path bad = dir.resolve("bad.jsonl");
        byte[] damaged = Arrays.copyOf(bytes, bytes.length + 1);
        damaged[bytes.length] = damaged[bytes.length - 1];
        Files.write(bad, damaged);
        Files.delete(out);
        r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", bad.toString(), out.toString()), 60);
        assertThat(r.exit()).isEqualTo(10);
        assertThat(r.err()).startsWith("spyglass: " + bad + " is not a Spyglass recording (a compact recording as "
                + "record -o x.sgr writes): byte ").contains(": a record after the end line");
        assertThat(out).doesNotExist();
    }

    @Test
    void inputThatIsNoRecordingEndsWithItsOwnStatusAndWritesNothing() throws Exception {
        Path html = dir.resolve("page.html");
        Files.writeString(html, "<!DOCTYPE html>\n<p>hello</p>\n");
        Path out = dir.resolve("out.collapsed");
        SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", html.toString(), out.toString()), 60);
        assertThat(r.exit()).isEqualTo(10);
        assertThat(r.err().strip()).isEqualTo("spyglass: " + html + " is not a Spyglass recording (JSON lines as "
                + "record -o x.jsonl writes): line 1: not JSON: unexpected character '<' at column 1");
        assertThat(out).doesNotExist();
        assertThat(dir.toFile().list()).containsExactly("page.html");

        // a field of the wrong type in a later line: named with its line; no file is left behind
        Path bad = dir.resolve("bad.jsonl");
        List<String> lines = Files.readAllLines(smallRecording());
        lines.set(3, lines.get(3).replace("\"state\":\"running\"", "\"state\":7"));
        Files.write(bad, lines);
        r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", bad.toString(), out.toString()), 60);
        assertThat(r.exit()).isEqualTo(10);
        assertThat(r.err()).contains("line 4: \"state\" is not a string");
        assertThat(out).doesNotExist();

        r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", "-f", "pprof", bad.toString(), "a.pb.gz", "b.pb.gz"), 60);
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("with several, each file's ending gives its format");

        r = SpyglassCliIT.run(SpyglassCliIT.cli("convert", dir.resolve("missing.jsonl").toString(), out.toString()),
                60);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cannot convert").contains("no such file or directory");
    }

    /** Several -o: each is told by its ending, one file twice or -f over several is a bad command line. */
    @Test
    void recordRefusesOneFileTwiceAndFormatForSeveralOutputsBeforeStartingAnything() throws Exception {
        Path a = dir.resolve("a.html");
        SpyglassCliIT.Result twice = SpyglassCliIT.run(SpyglassCliIT.cli("record", "-o", a.toString(), "-o",
                a.toString(), "--", "/bin/true"), 60);
        assertThat(twice.exit()).isEqualTo(1);
        assertThat(twice.err().strip()).isEqualTo("spyglass: cannot write " + a + " twice");
        SpyglassCliIT.Result format = SpyglassCliIT.run(SpyglassCliIT.cli("record", "-f", "pprof", "-o", a.toString(),
                "-o", dir.resolve("b.txt").toString(), "-p", "1"), 60);
        assertThat(format.exit()).isEqualTo(2);
        assertThat(format.err()).contains("-f names the format of one output file");
        SpyglassCliIT.Result unknown = SpyglassCliIT.run(SpyglassCliIT.cli("record", "-o", a.toString(), "-o",
                dir.resolve("b.svg").toString(), "-p", "1"), 60);
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("cannot tell the format from 'b.svg'");
        assertThat(dir.toFile().list()).isEmpty();
    }
}
