package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.ForTwoPythonShapes;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code spyglass trace} given what it cannot probe, on C libraries built here and loaded with ctypes: a trigger
 * hidden in a stripped library (status 12, said stripped, and the address form of --trigger offered, which then
 * works), a misspelt trigger (12, the closest name), a process gone (6), a function listed that never runs because
 * the compiler inlined it everywhere (named at the end), no right to place uprobes (5), and Ctrl-C (the executions
 * complete are written).
 */
class TraceBadInputCliIT {
    /**
     * {@code spy_inlined} is always inlined into {@code spy_outer}, yet has its out-of-line copy and symbol (the
     * {@code extern} declaration makes this translation unit emit one): a probe on that copy never fires.
     */
    static final String INLINED_SOURCE = String.join("\n",
            "__attribute__((always_inline)) inline int spy_inlined(int x) { return x * 3 + 1; }",
            "extern int spy_inlined(int x);",
            "__attribute__((noinline)) int spy_called(int x) { __asm__ volatile(\"\"); return x + 2; }",
            "__attribute__((noinline)) int spy_outer(int x) { int y = spy_inlined(x); __asm__ volatile(\"\" : \"+r\"(y));",
            "    return spy_called(y); }",
            "");
    static final String INLINED_SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "lib = ctypes.CDLL(sys.argv[1])",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.spy_outer(3)",
            "    time.sleep(0.005)",
            "");

    @TempDir
    Path dir;

    /**
     * The stripped library of {@link LatencyCliIT#aStrippedLibrarysHiddenFunctionIsProbedByAddressOn}: its hidden
     * {@code spy_hidden} (2 ms) has no name there. Searched without --library (trace has none for the trigger), the
     * command says the object is stripped and how to give the address; given it, the 2 ms calls are traced.
     */
    @ForEachPython
    void aHiddenTriggerInAStrippedLibraryIsAdvisedByAddressOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        Assumptions.assumeTrue(py.origin() == PythonInterpreter.Origin.SYSTEM, "one interpreter is enough for this");
        UprobeTargets.assumeRoot();
        Path full = UprobeTargets.buildLibrary(dir, "spyhidden", LatencyCliIT.HIDDEN_SOURCE);
        Path stripped = UprobeTargets.strippedCopy(dir, full, "libspystrip.so");
        Process target = LatencyCliIT.startHidden(py, dir, stripped);
        String pid = Long.toString(target.pid());
        try {
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", pid, "--trigger", "spy_hidden",
                    "-d", "5s"), 60);
            System.out.println(py.label() + ": " + r.err());
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.SYMBOL_NOT_FOUND);
            assertThat(r.err()).as(r.toString()).contains("no function spy_hidden").contains("libspystrip.so").contains(" stripped (no .symtab")
                    .contains("give that address: --trigger 0x").doesNotContain("--address");

            // In --functions: the advice names --functions.
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", pid, "--trigger", "spy_wrapper", "--functions",
                    "spy_hidden", "-d", "5s"), 60);
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.SYMBOL_NOT_FOUND);
            assertThat(r.err()).as(r.toString()).contains("no function spy_hidden")
                    .contains("give that address in --functions (0xADDR)");

            // Misspelt: the closest name, and no stripped objects listed (a close name is likelier the answer).
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", pid, "--trigger", "spy_wrapr", "-d", "5s"), 60);
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.SYMBOL_NOT_FOUND);
            assertThat(r.err()).as(r.toString()).contains("no function spy_wrapr").contains("closest: spy_wrapper")
                    .doesNotContain("stripped");

            // The advice followed: the address (from the unstripped copy's symbols) traces the 2 ms calls.
            long address = UprobeTargets.address(target.pid(), stripped, full, "spy_hidden");
            Path txt = dir.resolve("hidden.txt");
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", pid, "--trigger", "0x" + Long.toHexString(address),
                    "-d", "30s", "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            Matcher root = TraceCliIT.LINE.matcher(tree.lines().skip(1).findFirst().orElse(""));
            assertThat(root.matches()).as(tree).isTrue();
            assertThat(Double.parseDouble(root.group(3))).as(tree).isGreaterThanOrEqualTo(1900.0);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        SpyglassCliIT.Result gone = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", pid, "--trigger", "spy_hidden",
                "-d", "1s"), 60);
        assertThat(gone.exit()).as(gone.toString()).isEqualTo(Failures.GONE);
    }

    /**
     * A function of --functions that never fires is named at the end (the trace itself succeeds), one that fires is
     * not; then Ctrl-C (SIGTERM, the same shutdown) of a trace waiting for many executions writes those complete.
     */
    @ForTwoPythonShapes
    void aFunctionNeverEnteredIsNamedAndCtrlCWritesTheExecutionsCompleteOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "spyinl", INLINED_SOURCE);
        try (ElfFile elf = ElfFile.open(lib)) {
            assertThat(elf.symbol("spy_inlined")).as("the out-of-line copy of spy_inlined").isPresent();
        }
        Path script = dir.resolve("inl.py");
        Files.writeString(script, INLINED_SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("inl.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "spy_outer", "--functions", "spy_called,spy_inlined", "-d", "30s", "-o",
                    txt.toString()), 90);
            System.out.println(py.label() + ": " + r.err());
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.err()).as(r.toString()).contains("spyglass: spy_inlined never entered during the run: not"
                    + " called, or inlined where it is called (probes on inlined code cannot fire)")
                    .doesNotContainPattern("spy_called[^\n]*never entered");
            List<String> names = new ArrayList<>();
            for (String line : Files.readAllLines(txt)) {
                Matcher m = TraceCliIT.LINE.matcher(line);
                if (m.matches()) {
                    names.add(m.group(1) + m.group(2));
                }
            }
            assertThat(names).as(Files.readString(txt)).containsExactly("  spy_outer", "    spy_called");

            long outer = UprobeTargets.address(target.pid(), lib, "spy_outer");
            byte original = UprobeTargets.byteAt(target.pid(), outer);
            Path out = dir.resolve("interrupted.txt");
            Path err = dir.resolve("interrupted.err");
            Process cli = new ProcessBuilder(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "spy_outer", "--functions", "spy_called", "--count", "1000000", "-d", "120s", "-o", out.toString()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            try {
                for (int i = 0; i < 6000 && !(Files.exists(err) && Files.readString(err).contains("probes on")); i++) {
                    Thread.sleep(10);
                }
                assertThat(Files.readString(err)).contains("probes on");
                Thread.sleep(1500); // spy_outer runs every 5 ms: executions complete
                cli.destroy(); // SIGTERM: the JVM's shutdown, as on Ctrl-C
                assertThat(cli.waitFor(30, TimeUnit.SECONDS)).as("ended on SIGTERM").isTrue();
            } finally {
                cli.destroyForcibly();
            }
            String e = Files.readString(err);
            System.out.println(py.label() + ": " + e);
            assertThat(e).containsPattern("spyglass: interrupted: wrote the [1-9][0-9]* execution\\(s\\) complete to ");
            assertThat(out).as(e).exists();
            String tree = Files.readString(out);
            assertThat(tree).as(e).containsPattern("^execution 1 of [1-9][0-9]*, thread [0-9]+:\n  spy_outer  total ")
                    .contains("\n    spy_called  total ");
            assertThat(UprobeTargets.byteAt(target.pid(), outer)).as("probes gone after SIGTERM").isEqualTo(original);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void anUnprivilegedUserIsToldWhichRightIsMissing() throws Exception {
        SpyglassCliIT.Result r = UprobeTargets.asNobody(dir, pid -> List.of("trace", "-p", Long.toString(pid),
                "--trigger", "nanosleep", "-d", "1s"));
        assertThat(r.exit()).as(r.err()).isEqualTo(Failures.ACCESS_DENIED);
        assertThat(r.err()).contains("uprobe").contains("root").contains("CAP_PERFMON").contains("CAP_SYS_ADMIN");
    }
}
