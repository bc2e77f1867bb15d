package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.Sampler;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code record --kernel} and {@code dump --kernel} on a real interpreter with a thread blocked reading
 * a pipe; and as an unprivileged user, who may not read kernel stacks: one line says why, and the
 * recording is made without them.
 */
class KernelFramesCliIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SCRIPT = String.join("\n",
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
            "");

    @TempDir
    Path dir;

    @Test
    void recordAndDumpShowTheKernelPathOfABlockedRead() throws Exception {
        assumeTrue(Sampler.kernelFramesRefusal().isEmpty(), "kernel frames refused here");
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("blocked.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("k.jsonl");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--kernel", "-i", "5ms", "-o", out.toString(),
                "--"));
        cmd.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("without kernel frames").doesNotContain("without stopping");
        // Both threads mostly wait: few CPU-clock samples, maybe none; the calibrated figure is said all the same.
        NativeEngineCliIT.assertCostLine(r.err(), "kernel frames: ([\\d,]+) samples", 0);
        long readerSamples = 0;
        long withPipeRead = 0;
        for (String line : Files.readAllLines(out)) {
            JsonNode sample = JSON.readTree(line);
            if (!sample.path("thread").asText().equals("reader")) {
                continue;
            }
            readerSamples++;
            JsonNode frames = sample.get("frames");
            if (frames.size() > 0 && frames.get(0).get("kind").asText().equals("kernel")
                    && frames.toString().contains("pipe_read")) {
                withPipeRead++;
            }
        }
        assertThat(readerSamples).as(r.err()).isPositive();
        assertThat(withPipeRead).as("reader samples with pipe_read innermost, of " + readerSamples)
                .isGreaterThanOrEqualTo((long) Math.ceil(readerSamples * 0.9));

        Process target = py.processBuilder(script.toString(), "30").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String dump = "";
            // The reader blocks once the interpreter has started it: looked at until it does (a loaded machine).
            for (int i = 0; i < 20 && !dump.contains("pipe_read [kernel]"); i++) {
                Thread.sleep(300);
                SpyglassCliIT.Result d = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "--kernel", "-p",
                        Long.toString(target.pid())), 60);
                assertThat(d.exit()).as(d.err()).isZero();
                dump = d.out();
            }
            assertThat(dump).contains("pipe_read [kernel]").contains("ksys_read [kernel]")
                    .containsPattern("ksys_read \\[kernel\\]\\n(.*\\n)*?\\s+reader \\(" + script);
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void anUnprivilegedUserRecordsWithoutKernelFramesAndIsToldWhy() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false),
                "needs root to run the CLI as another user");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path script = dir.resolve("blocked.py");
        Files.writeString(script, SCRIPT);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        Path out = dir.resolve("nobody.collapsed");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups"));
        cmd.addAll(SpyglassCliIT.cli("record", "--kernel", "-i", "10ms", "-o", out.toString(), "--",
                python.toString(), script.toString(), "2"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, 60);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err().lines().filter(l -> l.contains("kernel frames")).toList()).as(r.err())
                .containsExactly("spyglass: recording without kernel frames: the kernel stacks of blocked threads "
                        + "(/proc/PID/task/TID/stack) are readable with CAP_SYS_ADMIN only (run as root)");
        assertThat(Files.readString(out)).contains("reader").doesNotContain("[kernel]");

        // The no-stop native engine needs perf events that sample the kernel too (its context switches):
        // refused the same way, and the recording is made with Python frames only rather than by stopping
        // the target with the other engine.
        Path nonstop = dir.resolve("nonstop.collapsed");
        List<String> ns = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups"));
        ns.addAll(SpyglassCliIT.cli("record", "--native=nonstop", "-i", "10ms", "-o", nonstop.toString(), "--",
                python.toString(), script.toString(), "2"));
        SpyglassCliIT.Result n = SpyglassCliIT.run(ns, 60);
        assertThat(n.exit()).as(n.err()).isZero();
        assertThat(n.err().lines().filter(l -> l.contains("without native frames")).toList()).as(n.err())
                .hasSize(1).allSatisfy(l -> assertThat(l).startsWith("spyglass: recording without native frames: ")
                        .contains("perf_event_paranoid"));
        assertThat(Files.readString(nonstop)).contains("<module>").doesNotContain("(libc.so");
    }
}
