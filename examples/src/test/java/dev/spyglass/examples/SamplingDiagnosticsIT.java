package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Issue 10, diagnostics: what {@code spyglass record} says when it falls behind, when the duration is shorter
 * than the interval, and when every sample was torn.
 */
class SamplingDiagnosticsIT {

    /** 48 threads 150 frames deep: one look takes far longer than 10 µs, so the sampler must fall behind. */
    static final String DEEP_THREADS = String.join("\n",
            "import sys, threading, time",
            "def deep(n):",
            "    if n == 0:",
            "        while True:",
            "            time.sleep(0.5)",
            "    deep(n - 1)",
            "for i in range(48):",
            "    threading.Thread(target=deep, args=(150,), daemon=True).start()",
            "time.sleep(0.3)",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "deep(150)",
            "");

    /**
     * ≤3.10: a helper thread points the sleeping main thread's {@code tstate->frame} at a list (not a frame)
     * and ends, so every look at the one remaining thread is torn. The offset of {@code frame} is found by
     * its value (the running frame object), not hard-coded.
     */
    static final String ALL_TORN = String.join("\n",
            "import ctypes, sys, threading, time",
            "get = ctypes.pythonapi.PyThreadState_Get",
            "get.restype = ctypes.c_void_p",
            "ts = get()",
            "here = id(sys._getframe())",
            "for off in range(0, 256, 8):",
            "    if ctypes.c_uint64.from_address(ts + off).value == here:",
            "        break",
            "junk = list(range(10))",
            "def corrupt():",
            "    time.sleep(0.3)  # the main thread is in time.sleep by now",
            "    ctypes.c_uint64.from_address(ts + off).value = id(junk)",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "threading.Thread(target=corrupt).start()",
            "time.sleep(1000)",
            "");

    @TempDir
    Path dir;

    @Test
    void aSamplerThatCannotKeepTheIntervalSaysItIsBehindInTheSummary() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Process target = start(py, "deep.py", DEEP_THREADS);
        try {
            Result r = run(cli("record", "-p", Long.toString(target.pid()), "-i", "10us", "-d", "1s", "-o",
                    dir.resolve("deep.collapsed").toString()), 60);
            assertThat(r.exit()).as(r.err()).isZero();
            String summary = r.err().lines().filter(l -> l.contains(" samples in ")).findFirst().orElseThrow();
            assertThat(summary).as(r.err()).contains("BEHIND IN SAMPLING").contains("of 100,000/s")
                    .containsPattern("[0-9,]+ skipped").contains("use a longer -i");
        } finally {
            target.destroyForcibly();
        }
    }

    /** The live line (shown only on a terminal: run under script(1), which gives the CLI a pseudo-terminal). */
    @Test
    void theLiveLineSaysWhenTheSamplerIsBehind() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/script").canExecute(), "needs script(1) (util-linux) for a terminal");
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Process target = start(py, "deep.py", DEEP_THREADS);
        try {
            String command = cli("record", "-p", Long.toString(target.pid()), "-i", "10us", "-d", "2s", "-o",
                    dir.resolve("deep.collapsed").toString()).stream().map(SamplingDiagnosticsIT::quote)
                    .collect(Collectors.joining(" "));
            Result r = run(List.of("/usr/bin/script", "-qec", command, "/dev/null"), 60);
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(r.out()).as(r.out()).contains("samples").containsPattern("/s of 100,000/s \\(BEHIND: [0-9,]+ ticks skipped\\)");
        } finally {
            target.destroyForcibly();
        }
    }

    /** {@code -i 20s -d 300ms} waited the whole 20 s interval before it looked at the duration. */
    @Test
    void aDurationShorterThanTheIntervalEndsTheRecordingOnTime() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Process target = start(py, "deep.py", DEEP_THREADS);
        try {
            long t0 = System.nanoTime();
            Result r = run(cli("record", "-p", Long.toString(target.pid()), "-i", "20s", "-d", "300ms", "-o",
                    dir.resolve("short.collapsed").toString()), 60);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertThat(r.exit()).as(r.err()).isZero();
            // JVM start and attach included; the bug took 20 s or more.
            assertThat(seconds).as(r.err()).isLessThan(12);
            assertThat(r.err()).doesNotContain("BEHIND");
        } finally {
            target.destroyForcibly();
        }
    }

    /** Every sample torn: status 8 and one line saying so, never exit 0; the summary says no retry recovered one. */
    @Test
    void aRecordingWhoseSamplesAreAllTornExits8() throws Exception {
        PythonInterpreter py = PythonInterpreters.available().filter(p -> p.atLeast(3, 6) && !p.atLeast(3, 11))
                .max(java.util.Comparator.comparing(PythonInterpreter::label)).orElse(null);
        Assumptions.assumeTrue(py != null, "needs a CPython 3.6 - 3.10 (tstate->frame is a frame object pointer)");
        Process target = start(py, "torn.py", ALL_TORN);
        try {
            Path out = dir.resolve("torn.json");
            Result r = run(cli("record", "-p", Long.toString(target.pid()), "-d", "1s", "-o", out.toString()), 60);
            assertThat(r.exit()).as(r.err()).isEqualTo(8);
            assertThat(r.err()).containsPattern("spyglass: no samples recorded: all [0-9,]+ samples were torn");
            // Each thread read was retried once (its thread state is readable) and torn again: none recovered.
            assertThat(r.err()).containsPattern("torn 100\\.00% \\(first reads 100\\.00%, 0 of ([0-9,]+) recovered by a"
                    + " retry\\)");
            assertThat(out).as(r.err()).exists();
        } finally {
            target.destroyForcibly();
        }
    }

    private Process start(PythonInterpreter py, String name, String source) throws Exception {
        Path script = dir.resolve(name);
        Files.writeString(script, source);
        Process p = py.processBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (java.io.IOException e) {
                return null;
            }
        }).get(30, TimeUnit.SECONDS);
        assertThat(line).as(py.label() + ": target not ready").isEqualTo("ready");
        return p;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
