package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.elf.ElfFile;

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
        Assumptions.assumeTrue("0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                .readAllBytes()).trim()), "uprobes need root");
        Path script = dir.resolve("leaky.py");
        Files.writeString(script, TARGET);
        Process target = new ProcessBuilder(PY.toString(), script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Process cli = null;
        try {
            Thread.sleep(500);
            long address = probeAddress(target.pid());
            byte original = byteAt(target.pid(), address);
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
            assertThat(byteAt(target.pid(), address)).as("probes gone after the run").isEqualTo(original);

            Path err = dir.resolve("cli.err");
            cli = new ProcessBuilder(SpyglassCliIT.cli("leaks", "-p", Long.toString(target.pid()), "-d", "60s"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            for (int i = 0; i < 3000 && !(Files.exists(err) && Files.readString(err).contains("probes on")); i++) {
                Thread.sleep(10);
            }
            assertThat(Files.readString(err)).contains("probes on");
            assertThat(byteAt(target.pid(), address)).as("int3 while probed").isEqualTo((byte) 0xCC);
            cli.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(cli.waitFor(20, TimeUnit.SECONDS)).isTrue();
            // The kernel closes a dead process's descriptors; the breakpoints go with the last one.
            byte after = byteAt(target.pid(), address);
            for (int i = 0; i < 200 && after != original; i++) {
                Thread.sleep(10);
                after = byteAt(target.pid(), address);
            }
            assertThat(after).as("probes gone after kill -9 of the JVM").isEqualTo(original);
            assertThat(target.isAlive()).isTrue();
        } finally {
            if (cli != null) {
                cli.destroyForcibly();
            }
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void coarseLevelWritesAnHtmlPageSayingWhatItsFiguresMean() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PY) && Files.isReadable(LIB), "needs pyenv 3.12.1 at " + PY);
        Assumptions.assumeTrue("0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                .readAllBytes()).trim()), "uprobes need root");
        SpyglassCliIT.Result bad = SpyglassCliIT.run(SpyglassCliIT.cli("leaks", "-p", "1", "--level", "fine"), 60);
        assertThat(bad.exit()).as(bad.toString()).isEqualTo(Failures.USAGE);
        assertThat(bad.err()).contains("--level must be exact or coarse");
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

    /** _PyObject_Malloc in the target: libpython's mapping at file offset 0, plus the symbol's value. */
    private static long probeAddress(long pid) throws Exception {
        long base = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[5].equals(LIB.toString()) && Long.parseLong(f[2], 16) == 0) {
                base = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                break;
            }
        }
        assertThat(base).as("libpython mapped").isPositive();
        try (ElfFile elf = ElfFile.open(LIB)) {
            return base + elf.symbol("_PyObject_Malloc").orElseThrow().value();
        }
    }

    private static byte byteAt(long pid, long address) throws Exception {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(address);
            return (byte) mem.read();
        }
    }
}
