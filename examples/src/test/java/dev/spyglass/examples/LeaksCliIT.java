package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spyglass leaks} against pyenv's 3.12: the JSON report ranks the leaking function first, and a CLI killed
 * with SIGKILL while its probes are in place leaves none behind (the target's first byte of
 * {@code _PyObject_Malloc}, an int3 while probed, is the original again).
 */
class LeaksCliIT {
    static final Path PY = Path.of("/root/.pyenv/versions/3.12.1/bin/python3.12");
    static final Path LIB = Path.of("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");
    static final String TARGET = String.join("\n",
            "import threading, time",
            "head = None",
            "def leak_forever():",
            "    global head",
            "    while True:",
            "        for i in range(20):",
            "            head = [object(), head]",
            "        time.sleep(0.01)",
            "def churn_forever():",
            "    while True:",
            "        tmp = [object() for i in range(200)]",
            "        del tmp",
            "        time.sleep(0.001)",
            "threading.Thread(target=churn_forever, daemon=True).start()",
            "leak_forever()",
            "");

    @TempDir
    Path dir;

    @Test
    void jsonReportRanksTheLeakFirstAndAKilledCliLeavesNoProbe() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PY) && Files.isReadable(LIB), "needs pyenv 3.12.1 at " + PY);
        UprobeTargets.assumeRoot();
        Path script = dir.resolve("leaky.py");
        Files.writeString(script, TARGET);
        Process target = new ProcessBuilder(PY.toString(), script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            long address = UprobeTargets.address(target.pid(), LIB, "_PyObject_Malloc");
            byte original = UprobeTargets.byteAt(target.pid(), address);
            assertThat(original).isNotEqualTo((byte) 0xCC);

            Path json = dir.resolve("report.json");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()),
                    "-d", "3s", "-o", json.toString()), 60);
            assertThat(r.exit()).as(r.toString()).isZero();
            String report = Files.readString(json);
            int first = report.indexOf("{\"suspect\":");
            assertThat(report.substring(first, first + 18)).as(report).isEqualTo("{\"suspect\":true,\"s");
            int second = report.indexOf("{\"suspect\":", first + 1);
            String top = report.substring(first, second < 0 ? report.length() : second);
            assertThat(top).as(report).contains("\"leak_forever\"").doesNotContain("churn_forever");
            assertThat(report).doesNotContain("{\"suspect\":true,\"surviving_bytes\":0");
            assertThat(UprobeTargets.byteAt(target.pid(), address)).as("probes gone after the run").isEqualTo(original);

            UprobeTargets.killedCliLeavesNoProbe(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()), "-d",
                    "60s"), dir.resolve("cli.err"), target, address, original);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** A target that installs tracemalloc's hooks 1.5 s into a 5 s run: said on stderr and in the JSON. */
    @Test
    void anAllocatorReplacedDuringTheRunIsSaidOnStderrAndInTheJson() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PY) && Files.isReadable(LIB), "needs pyenv 3.12.1 at " + PY);
        UprobeTargets.assumeRoot();
        Path script = dir.resolve("switching.py");
        Files.writeString(script, String.join("\n",
                "import sys, time, tracemalloc",
                "sys.stdin.readline()",
                "time.sleep(1.5)",
                "tracemalloc.start()",
                "head = None",
                "while True:",
                "    head = [object(), head]",
                "    time.sleep(0.001)",
                ""));
        Process target = new ProcessBuilder(PY.toString(), script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            Path json = dir.resolve("switch.json");
            Process cli = new ProcessBuilder(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()), "-d", "5s",
                    "-o", json.toString())).redirectError(dir.resolve("switch.err").toFile())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // the switch once the probes are in place (the CLI says so), 1.5 s after this
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!Files.readString(dir.resolve("switch.err")).contains("probes on") && System.nanoTime() < deadline
                    && cli.isAlive()) {
                Thread.sleep(20);
            }
            target.getOutputStream().write('\n');
            target.getOutputStream().flush();
            assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String err = Files.readString(dir.resolve("switch.err"));
            assertThat(cli.exitValue()).as(err).isZero();
            String report = Files.readString(json);
            assertThat(err).as(err).contains("the obj allocator was replaced").contains("calls the one the probes see");
            assertThat(report).as(report).containsPattern("\"allocator_changes\":\\[\\{\"seconds\":[0-9.]+,"
                    + "\"domain\":\"obj\",\"before\":\"0x[0-9a-f]+\",\"after\":\"0x[0-9a-f]+\",\"seen\":true,\"moved_to\":\"\"\\}");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void coarseLevelWritesAnHtmlPageSayingWhatItsFiguresMean() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PY) && Files.isReadable(LIB), "needs pyenv 3.12.1 at " + PY);
        UprobeTargets.assumeRoot();
        SpyglassCliIT.Result bad = SpyglassCliIT.run(SpyglassCliIT.cli("leaks", "-p", "1", "--level", "fine"), 60);
        assertThat(bad.exit()).as(bad.toString()).isEqualTo(Failures.USAGE);
        assertThat(bad.err()).contains("--level must be exact, coarse or pools");
        Path script = dir.resolve("leaky.py");
        Files.writeString(script, TARGET);
        Process target = new ProcessBuilder(PY.toString(), script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            Path html = dir.resolve("report.html");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()),
                    "-d", "2s", "--level", "coarse", "-o", html.toString()), 60);
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.err()).contains("probes on _PyMem_RawMalloc");
            assertThat(Files.readString(html)).startsWith("<!DOCTYPE html>").contains("Coarse level")
                    .contains("id=\"leak-table\"").contains("\"mode\":\"leaks\"");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void poolsLevelProbesPoolRefillsAndSaysWhatItsFiguresMean() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PY) && Files.isReadable(LIB), "needs pyenv 3.12.1 at " + PY);
        UprobeTargets.assumeRoot();
        Path script = dir.resolve("leaky.py");
        Files.writeString(script, TARGET);
        Process target = new ProcessBuilder(PY.toString(), script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            Path text = dir.resolve("report.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()),
                    "-d", "2s", "--level", "pools", "-o", text.toString()), 60);
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.err()).contains("probes on _PyMem_RawMalloc")
                    .contains("pymalloc pools: allocate_from_new_pool (16 KiB pools").doesNotContain("pymalloc arenas: ");
            assertThat(Files.readString(text)).contains("Pools level").contains("<pymalloc pool>");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void anUnprivilegedUserIsToldWhichRightIsMissing() throws Exception {
        Assumptions.assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false),
                "needs root to run the CLI as another user");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path script = dir.resolve("leaky.py");
        Files.writeString(script, TARGET);
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        java.util.List<String> nobody = java.util.List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups");
        java.util.List<String> t = new java.util.ArrayList<>(nobody);
        t.addAll(java.util.List.of(python.toString(), script.toString()));
        Process target = new ProcessBuilder(t).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            java.util.List<String> cmd = new java.util.ArrayList<>(nobody);
            cmd.addAll(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()), "-d", "2s"));
            SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, 60);
            assertThat(r.exit()).as(r.err()).isEqualTo(Failures.ACCESS_DENIED);
            assertThat(r.err()).contains("uprobe").contains("CAP_PERFMON").contains("root");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
