package dev.spyglass;

import static dev.spyglass.LeakWindow.has;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.leaks.AllocatorTable;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The exact level on an ordinary target of a stripped LTO build (Debian's), whose allocator tables hold their
 * defaults, so that the build's inlined copies of pymalloc bypass every function the probes could be put on,
 * unless the tracker redirects the tables for the run ({@code redirectAllocator}). The target never runs
 * tracemalloc (which would hook the tables itself): {@code leak_forever} chains about 2,000 objects a second
 * ({@code Leaked} with a new int each, no list, no free list) and counts their bytes itself
 * ({@code sys.getsizeof}, GC header included: what the allocator is asked for), while {@code churn_forever}
 * allocates and frees far more. The leak must rank first within 10% of that count, the churner must be no suspect,
 * and the tables must hold their defaults again after close. On a build without {@code endbr64} (Debian's 3.11)
 * the redirect must be refused, saying why, with nothing written.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class LeakTrackerRedirectTest {
    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time",
            "class Leaked(object):",
            "    __slots__ = ('a', 'b')",
            "    def __init__(self, a, b):",
            "        self.a = a",
            "        self.b = b",
            "head = None",
            "leaked = [0]",
            "go, stop, stopped = threading.Event(), threading.Event(), threading.Event()",
            "def leak_forever():",
            "    global head",
            "    i = 1000",
            "    go.wait()",
            "    while not stop.is_set():",
            "        for _ in range(20):",
            "            head = Leaked(i * 1000, head)",
            "            leaked[0] += sys.getsizeof(head) + sys.getsizeof(head.a)",
            "            i += 1",
            "        time.sleep(0.01)",
            "    stopped.set()",
            "    threading.Event().wait()",
            "def churn_forever():",
            "    while not stop.is_set():",
            "        tmp = [Leaked(None, None) for _ in range(200)]",
            "        del tmp",
            "        time.sleep(0.001)",
            "    while True:",
            "        time.sleep(1)",
            "threading.Thread(target=churn_forever, name='churner', daemon=True).start()",
            "threading.Thread(target=leak_forever, name='leaker', daemon=True).start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "for line in sys.stdin:",
            "    if line.startswith('mark'):",
            "        go.set()",
            "    elif line.startswith('end'):",
            "        stop.set()",
            "        stopped.wait()",
            "        with open(sys.argv[1] + '.tmp', 'w') as f: f.write(str(leaked[0]))",
            "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
            "");

    @ForEachPython
    void seesTheInlinedAllocationsOfAStrippedBuildThroughARedirectedTable(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 11), "the table route is used on the stripped Debian builds (3.11+)");
        Assumptions.assumeFalse(py.freeThreaded(), "free-threaded builds allocate with mimalloc");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        try (ElfFile elf = ElfFile.open(py.libpython().orElse(py.executable()))) {
            Assumptions.assumeTrue(elf.symbol("_PyObject_Malloc").filter(Symbol::isDefined).isEmpty(),
                    py.label() + " has _PyObject_Malloc in its symbols: probed by name, nothing to redirect");
        }
        Path script = PythonScripts.write("leaky_default_table.py", SCRIPT);
        Path figure = Files.createTempFile("kept", ".txt");
        Files.delete(figure);
        ProcessBuilder b = py.processBuilder(script.toString(), figure.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        b.environment().remove("PYTHONTRACEMALLOC");
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            AllocatorTable before = objTable(target.pid());
            assertThat(before.bypassed()).as("an ordinary target's table holds the default").isTrue();
            if (!startsWithEndbr64(target.pid(), before.malloc())) {
                // Debian's 3.11 (bookworm) is built without -fcf-protection: its functions have no second entry
                // that does the same, so the tables cannot be redirected without writing code into the target.
                assertThatThrownBy(() -> LeakTracker.attach(target.pid(), LeakTracker.DEFAULT_CAPACITY, false,
                        LeakTracker.Level.EXACT, true).close()).isInstanceOf(SpyglassException.class)
                        .hasMessageContaining("does not start with endbr64");
                assertThat(objTable(target.pid())).as("nothing written").isEqualTo(before);
                System.out.println(py.label() + ": refused, " + before + " has no endbr64 at its malloc");
                return;
            }
            LeakReport report;
            try (LeakTracker t = LeakTracker.attach(target.pid(), LeakTracker.DEFAULT_CAPACITY, false,
                    LeakTracker.Level.EXACT, true)) {
                AllocatorTable during = objTable(target.pid());
                assertThat(during.malloc()).isEqualTo(before.malloc() + 4);
                assertThat(during.free()).isEqualTo(before.free() + 4);
                assertThat(t.probes()).startsWith("obj.malloc@0x" + Long.toHexString(before.malloc() + 4))
                        .contains("redirected past endbr64").doesNotContain("bypass");
                target.send("mark");
                LeakWindow.pollFor(t, 4_000_000_000L);
                target.send("end");
                LeakWindow.pollUntilWritten(t, figure, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(figure), py.label() + ": the target did not stop leaking within"
                        + " 60 s (starved)");
                t.poll();
                report = t.report();
            }
            AllocatorTable after = objTable(target.pid());
            assertThat(after).as("the tables hold their defaults again").isEqualTo(before);
            long truth = Long.parseLong(Files.readString(figure).trim());
            Files.delete(figure);
            long ours = LeakWindow.survivingBytes(report, "leak_forever");
            double lostShare = LeakWindow.lostShare(report);
            String figures = String.format(Locale.ROOT, "%s: %s; %d allocations, %d frees, %d lost (%.1f%%);"
                    + " leak_forever surviving %d B, counted by the target %d B (%.1f%%)", py.label(), report.probes(),
                    report.allocations(), report.frees(), report.lostRecords(), 100 * lostShare, ours, truth,
                    100.0 * ours / Math.max(1, truth));
            System.out.println(figures);
            List<LeakReport.StackReport> stacks = report.stacks();
            assertThat(stacks).as(figures).isNotEmpty();
            assertThat(has(stacks.get(0), "leak_forever")).as(figures).isTrue();
            assertThat(stacks.get(0).suspect()).as(figures).isTrue();
            assertThat(stacks.stream().filter(s -> has(s, "churn_forever")).noneMatch(LeakReport.StackReport::suspect))
                    .as(figures).isTrue();
            // Lost records are allocations or releases not seen: short by that share at most, never 10% over.
            assertThat((double) ours).as(figures).isLessThanOrEqualTo(truth * 1.10)
                    .isGreaterThanOrEqualTo(truth * (0.90 - lostShare));
        }
    }

    private static boolean startsWithEndbr64(long pid, long function) throws Exception {
        try (Target t = Target.attach(pid)) {
            return t.memory().readInt(function) == 0xfa1e0ff3;
        }
    }

    /** The obj domain's table of the live target, found as the tracker finds it. */
    private static AllocatorTable objTable(long pid) throws Exception {
        try (Target t = Target.attach(pid); ElfFile elf = ElfFile.open(Path.of(t.interpreter().objectPath()))) {
            long bias = t.interpreter().loadBias();
            long malloc = bias + elf.dynamicSymbol("PyObject_Malloc").orElseThrow().value();
            long free = bias + elf.dynamicSymbol("PyObject_Free").orElseThrow().value();
            return AllocatorTable.find(t.memory(), malloc, free).orElseThrow();
        }
    }
}
