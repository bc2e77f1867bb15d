package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.Frame;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * MOJO files of real sampled Python processes, read back sample by sample by {@link MojoFormat} (written from
 * Austin's format description) and, when scripts/install-test-deps.sh could install it, by austin-python's own
 * {@code MojoStreamReader}, the reader austin-tui and austin2speedscope use.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("cpu-bound-target")
class MojoRealProcessTest {

    @TempDir
    Path dir;

    @ForEachPython
    void aRealRecordingDecodesSampleBySampleOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        RealProcessExportTest.Recording r = RealProcessExportTest.record(py, dir, 3);
        byte[] file = MojoExporterTest.write(MojoExporter.builder().metadata(r.metadata()), r.samples());
        MojoFormat.Profile p = MojoFormat.parse(file);

        assertThat(p.version()).isEqualTo(4);
        assertThat(p.metadata()).containsEntry("python", r.metadata().pythonVersion()).containsEntry("mode", "wall")
                .containsEntry("interval", "1000").containsEntry("command", r.metadata().commandLine())
                .containsEntry("samples", Long.toString(r.metadata().samples()))
                .containsEntry("errors", r.metadata().tornSamples() + "/"
                        + (r.metadata().samples() + r.metadata().tornSamples()))
                .containsEntry("duration", Long.toString(r.metadata().duration().toNanos() / 1000));
        MojoExporterTest.assertSameSamples(p.samples(), r.samples());

        // hot_leaf innermost, under driver and <module>, in the script's file, in most main-thread samples
        String script = r.script().toString();
        long hot = p.samples().stream().filter(s -> s.rootFirst().size() == 3
                && s.rootFirst().get(2).name().equals("hot_leaf") && s.rootFirst().get(2).file().equals(script)
                && s.rootFirst().get(1).name().equals("driver") && s.rootFirst().get(0).name().equals("<module>"))
                .count();
        assertThat(hot).as("samples in hot_leaf of %d", p.samples().size()).isGreaterThan(p.samples().size() / 4);
        // The measured time: the samples' weights add up, in µs, to what Spyglass measured.
        long weights = r.samples().stream().mapToLong(StackSample::weightNanos).sum();
        long times = p.samples().stream().mapToLong(MojoFormat.Sample::time).sum();
        assertThat(times).isCloseTo(weights / 1000, org.assertj.core.data.Offset.offset((long) p.samples().size()));
        // The napper thread sleeps: wall mode samples it idle, and the file says so.
        assertThat(p.samples()).anySatisfy(s -> assertThat(s.idle()).isTrue());
        if (py.atLeast(3, 11)) {
            // 3.11+ has column positions; Austin's are 1-based, so a known column is never 0.
            assertThat(p.samples()).anySatisfy(s -> assertThat(s.rootFirst()).anySatisfy(
                    f -> assertThat(f.column()).isPositive()));
        }
    }

    /**
     * Native frames of a real process (a Python function sleeping in libc): each one is written as Austin 4's
     * native unwinders write theirs, the object's path and the symbol, between the Python frames.
     */
    @ForEachPython
    void nativeFramesOfARealProcessAreWrittenAsAustinsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = dir.resolve("sleeper.py");
        Files.writeString(script, String.join("\n",
                "import sys, time",
                "def py_sleeper(deadline):",
                "    while time.time() < deadline:",
                "        time.sleep(0.01)",
                "py_sleeper(time.time() + float(sys.argv[1]))",
                ""));
        Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(5)).build();
        List<StackSample> samples = new ArrayList<>();
        SamplingSession session = sampler.launch(py.processBuilder(script.toString(), "2")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD));
        try (session) {
            session.forEach(samples::add);
        } finally {
            session.process().orElseThrow().destroyForcibly();
        }
        List<StackSample> withNative = samples.stream()
                .filter(s -> s.frames().stream().anyMatch(f -> f.kind() == Frame.FrameKind.NATIVE)).toList();
        assumeTrue(!withNative.isEmpty(), () -> py + ": no sample with native frames of " + samples.size()
                + " (a loaded machine, or no permission to stop the target)");
        MojoFormat.Profile p = MojoFormat.parse(MojoExporterTest.write(MojoExporter.builder(), samples));

        MojoExporterTest.assertSameSamples(p.samples(), samples);
        // Some sample: libc's frame innermost-ish, above py_sleeper, a native frame of an object path, line 0.
        assertThat(p.samples()).anySatisfy(s -> {
            List<MojoFormat.Frame> f = s.rootFirst();
            int sleeper = f.stream().map(MojoFormat.Frame::name).toList().lastIndexOf("py_sleeper");
            assertThat(sleeper).isNotNegative();
            assertThat(f.subList(sleeper + 1, f.size())).anySatisfy(n -> {
                assertThat(n.file()).startsWith("/").contains("libc");
                assertThat(n.line()).isZero();
                assertThat(n.column()).isZero();
            });
        });
    }

    /**
     * Kernel frames of a real process (a thread blocked reading a pipe): Austin's kernel-frame events, innermost,
     * after the thread's Python frames.
     */
    @Test
    void kernelFramesOfARealProcessAreWrittenInnermost() throws Exception {
        assumeTrue(Sampler.kernelFramesRefusal().isEmpty(), () -> "kernel frames refused here: "
                + Sampler.kernelFramesRefusal().orElse(""));
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = dir.resolve("blocked.py");
        Files.writeString(script, String.join("\n",
                "import os, sys, threading, time",
                "r, w = os.pipe()",
                "def reader():",
                "    os.read(r, 1)",
                "t = threading.Thread(target=reader, name='reader')",
                "t.daemon = True",
                "t.start()",
                "end = time.time() + float(sys.argv[1])",
                "while time.time() < end:",
                "    time.sleep(0.01)",
                ""));
        Sampler sampler = Sampler.builder().kernelFrames(true).interval(Duration.ofMillis(5)).build();
        List<StackSample> samples = new ArrayList<>();
        SamplingSession session = sampler.launch(py.processBuilder(script.toString(), "2.5")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD));
        try (session) {
            session.forEach(samples::add);
        } finally {
            session.process().orElseThrow().destroyForcibly();
        }
        assumeTrue(samples.stream().anyMatch(s -> s.threadName().equals("reader")),
                () -> py + ": the reader thread was not sampled in " + samples.size() + " samples (a loaded machine)");
        MojoFormat.Profile p = MojoFormat.parse(MojoExporterTest.write(MojoExporter.builder(), samples));

        MojoExporterTest.assertSameSamples(p.samples(), samples);
        assertThat(p.samples()).anySatisfy(s -> {
            List<MojoFormat.Frame> f = s.rootFirst();
            assertThat(f).isNotEmpty();
            assertThat(f.get(f.size() - 1).isKernel()).isTrue();
            assertThat(f.get(f.size() - 1).name()).contains("pipe_read");
            assertThat(f.stream().map(MojoFormat.Frame::name)).contains("reader");
            // kernel frames only after the last Python one
            int firstKernel = 0;
            while (!f.get(firstKernel).isKernel()) {
                firstKernel++;
            }
            assertThat(f.subList(firstKernel, f.size())).allSatisfy(k -> assertThat(k.isKernel()).isTrue());
        });
    }

    /** The same file through austin-python's {@code MojoStreamReader}: equal samples, metadata and names. */
    @Test
    void austinPythonReadsARealRecording() throws Exception {
        Path austinPython = TestTools.toolsDir().resolve("austin-python");
        assumeTrue(Files.isRegularFile(austinPython.resolve("austin/format/mojo.py")), () -> unavailable());
        PythonInterpreter reader = PythonInterpreters.assumeAny(3, 10);
        PythonInterpreter target = PythonInterpreters.assumeAny(3, 11);
        RealProcessExportTest.Recording r = RealProcessExportTest.record(target, dir, 3);
        Path mojo = dir.resolve("real.mojo");
        Files.write(mojo, MojoExporterTest.write(MojoExporter.builder().metadata(r.metadata()), r.samples()));

        Path script = dir.resolve("read.py");
        Files.writeString(script, String.join("\n",
                "import json, sys",
                "from austin.format.mojo import MojoStreamReader",
                "from austin.events import AustinMetadata, AustinSample",
                "meta, samples = {}, []",
                "with open(sys.argv[1], 'rb') as f:",
                "    reader = MojoStreamReader(f)",
                "    for e in reader:",
                "        if isinstance(e, AustinMetadata):",
                "            meta[e.name] = e.value",
                "        elif isinstance(e, AustinSample):",
                "            samples.append({'pid': e.pid, 'iid': e.iid, 'thread': e.thread,",
                "                'time': e.metrics.time, 'idle': e.idle, 'frames': [",
                "                [fr.filename, fr.function, fr.line, fr.line_end, fr.column, fr.column_end]",
                "                for fr in (e.frames or ())]})",
                "    meta.update(reader.metadata)",
                "json.dump({'version': reader.mojo_version, 'metadata': meta, 'samples': samples}, sys.stdout)",
                ""));
        ProcessBuilder pb = reader.processBuilder(script.toString(), mojo.toString());
        pb.environment().put("PYTHONPATH", austinPython.toString());
        Path out = dir.resolve("out.json");
        Path err = dir.resolve("err.txt");
        Process proc = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(proc.waitFor(120, TimeUnit.SECONDS)).as("austin-python finished").isTrue();
        assertThat(proc.exitValue()).as("austin-python: %s", Files.readString(err)).isZero();

        JsonNode read = JsonLinesExporterTest.JSON.readTree(Files.readString(out, StandardCharsets.UTF_8));
        assertThat(read.get("version").asInt()).isEqualTo(4);
        assertThat(read.get("metadata").get("python").asText()).isEqualTo(r.metadata().pythonVersion());
        assertThat(read.get("metadata").get("mode").asText()).isEqualTo("wall");
        JsonNode samples = read.get("samples");
        List<StackSample> written = r.samples();
        assertThat(samples.size()).isEqualTo(written.size());
        for (int i = 0; i < written.size(); i++) {
            StackSample s = written.get(i);
            JsonNode got = samples.get(i);
            assertThat(got.get("pid").asLong()).isEqualTo(s.pid());
            assertThat(got.get("iid").asLong()).isEqualTo(s.interpreterId());
            assertThat(got.get("thread").asText()).isEqualTo(Long.toHexString(s.nativeThreadId()));
            assertThat(got.get("time").asLong()).isEqualTo(Math.round(s.weightNanos() / 1000.0));
            // austin-python leaves idle unset (None) outside Austin's full mode unless the marker is there
            assertThat(got.get("idle").asBoolean(false)).isEqualTo(s.state() == ThreadState.IDLE);
            List<MojoFormat.Frame> expected = MojoExporterTest.expectedRootFirst(s);
            assertThat(got.get("frames").size()).as("frames of sample %d", i).isEqualTo(expected.size());
            for (int j = 0; j < expected.size(); j++) {
                MojoFormat.Frame e = expected.get(j);
                JsonNode f = got.get("frames").get(j);
                assertThat(List.of(f.get(0).asText(), f.get(1).asText(), f.get(2).asLong(), f.get(3).asLong(),
                        f.get(4).asLong(), f.get(5).asLong())).as("frame %d of sample %d", j, i)
                        .isEqualTo(List.of(e.file(), e.name(), e.line(), e.lineEnd(), e.column(), e.columnEnd()));
            }
        }
    }

    private static String unavailable() {
        Path reason = TestTools.toolsDir().resolve("austin-python.unavailable");
        try {
            if (Files.exists(reason)) {
                return "austin-python unavailable: " + Files.readString(reason).strip();
            }
        } catch (java.io.IOException e) {
            // fall through
        }
        return "austin-python is not under " + TestTools.toolsDir() + "; run scripts/install-test-deps.sh";
    }
}
