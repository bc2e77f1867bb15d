package dev.spyglass;

import static dev.spyglass.LeakWindow.has;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link LeakTracker} (exact level) on a target whose {@code leaker} thread keeps about 2,000 objects a second
 * (each a 2-item list holding a new object and the previous list: every block comes from the small-object
 * allocator, no realloc) while its {@code churner} thread allocates and frees far more. The target runs
 * tracemalloc, whose figure for the leaking function over the tracked window is the ground truth.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class LeakTrackerTest {
    /**
     * The lock of the tests that probe every allocation of a busy target (each hit traps into the kernel): run
     * alongside the other tests, one at a time among themselves, so two trapping targets do not share the two
     * CPUs and push each other's lost records over the tests' limits.
     */
    static final String ALLOCATION_PROBES = "allocation-probes";

    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time, tracemalloc",
            "tracemalloc.start(1)",
            "class Leaked(object):",
            "    __slots__ = ('a', 'b')",
            "    def __init__(self, i):",
            "        self.a = i",
            "        self.b = None",
            "head = None",
            "go, stop, stopped = threading.Event(), threading.Event(), threading.Event()",
            "def leak_forever():",
            "    # the whole thread stays in this function: its Python stack is the same at every read. It leaks only",
            "    # between the two tracemalloc snapshots, then stays here (its probe ring keeps its records)",
            "    global head",
            "    i = 1000",
            "    go.wait()",
            "    while not stop.is_set():",
            "        for _ in range(20):",
            "            head = [Leaked(i), head]",
            "            i += 1",
            "        time.sleep(0.01)",
            "    stopped.set()",
            "    threading.Event().wait()",
            "def churn_forever():",
            "    # stops with the leaker: its trapped allocations would starve the final snapshot on a loaded machine",
            "    while not stop.is_set():",
            "        tmp = [Leaked(i) for i in range(200)]",
            "        del tmp",
            "        time.sleep(0.001)",
            "    while True:",
            "        time.sleep(1)",
            "FIRST = leak_forever.__code__.co_firstlineno",
            "LAST = churn_forever.__code__.co_firstlineno - 1",
            "def leaked_bytes():",
            "    s = tracemalloc.take_snapshot()",
            "    return sum(t.size for t in s.traces if t.traceback[0].filename == __file__",
            "               and FIRST <= t.traceback[0].lineno <= LAST)",
            "threading.Thread(target=churn_forever, name='churner', daemon=True).start()",
            "threading.Thread(target=leak_forever, name='leaker', daemon=True).start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "mark = None",
            "for line in sys.stdin:",
            "    if line.startswith('mark'):",
            "        mark = leaked_bytes()",
            "        go.set()",
            "    elif line.startswith('end'):",
            "        stop.set()",
            "        stopped.wait()",
            "        n = leaked_bytes() - mark",
            "        with open(sys.argv[1] + '.tmp', 'w') as f: f.write(str(n))",
            "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
            "");

    @ForEachPython
    void ranksTheLeakingStackFirstAndRemovesItsProbesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "allocation probes: pyenv 3.8+ and Debian 3.11 builds");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path script = PythonScripts.write("leaky.py", SCRIPT);
        Path figure = Files.createTempFile("tracemalloc", ".txt");
        Files.delete(figure);
        ProcessBuilder b = py.processBuilder(script.toString(), figure.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            long probeAddress = probeAddress(target.pid());
            byte original = byteAt(target.pid(), probeAddress);
            LeakReport report;
            try (LeakTracker t = LeakTracker.attach(target.pid())) {
                target.send("mark");
                assertThat(byteAt(target.pid(), probeAddress)).as("int3 of the uprobe").isEqualTo((byte) 0xCC);
                LeakWindow.pollFor(t, 4_000_000_000L);
                target.send("end");
                // Until the target took its second snapshot (slow on a loaded machine, every allocation of it
                // trapped: not written in 20 s with two CPU hogs on 3.9 and 3.10): the leaking has stopped.
                LeakWindow.pollUntilWritten(t, figure, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(figure), py.label() + ": the target's second tracemalloc snapshot"
                        + " was not written within 60 s (a starved target; load " + loadAverage() + ")");
                t.poll();
                report = t.report();
            }
            // The breakpoints went with the descriptors. Under two CPU hogs and the suite the int3 was still read right
            // after close once (pyenv 3.13, 6 Dec 2026), as FunctionProbesTest saw: a bounded wait tells a slow
            // removal from a probe left behind, which never goes.
            assertThat(FunctionProbesTest.restoredWithin(target.pid(), probeAddress, original, 10_000))
                    .as("allocator probe gone after close").isEqualTo(original);
            long truth = Long.parseLong(Files.readString(figure).trim());
            Files.delete(figure);
            long ours = LeakWindow.survivingBytes(report, "leak_forever");
            double lostShare = LeakWindow.lostShare(report);
            String figures = String.format(java.util.Locale.ROOT, "%s: %s; %d allocations, %d frees, %d lost"
                    + " (%.1f%%); leak_forever surviving %d B, tracemalloc %d B (%.1f%%)", py.label(), report.probes(),
                    report.allocations(), report.frees(), report.lostRecords(), 100 * lostShare, ours, truth,
                    100.0 * ours / Math.max(1, truth));
            System.out.println(figures);
            Assumptions.assumeTrue(report.allocations() > 2_000, "too few allocations seen (load, or a build whose allocations bypass the probed functions: Debian trixie 3.13 saw none): " + figures);
            // The target's own tracemalloc snapshot at the end is memory that grew too (its objects, some still being
            // freed at the last poll): the ranking is judged among the other stacks.
            List<LeakReport.StackReport> stacks = LeakWindow.withoutSnapshots(report);
            assertThat(stacks).as(figures).isNotEmpty();
            assertThat(stacks.get(0).suspect()).as(figures).isTrue();
            assertThat(has(stacks.get(0), "leak_forever")).as(figures).isTrue();
            for (LeakReport.StackReport s : stacks) {
                if (has(s, "churn_forever")) {
                    assertThat(s.suspect()).as("churner reported as a leak: %s %s %s", s, java.util.Arrays.toString(
                            s.survivingBytesOverTime()), figures).isFalse();
                }
            }
            // A stripped LTO build (Debian's) whose table holds the default is probed at the exported functions,
            // which its inlined copies of pymalloc bypass (21% of the bytes measured on 3.11, none on 3.13). This
            // target runs tracemalloc, whose hooks in the table every allocation calls: those are probed.
            Assumptions.assumeTrue(report.probes().startsWith("_PyObject_") || report.probes().startsWith("obj."),
                    "the exported allocator misses most allocations of this build: " + figures);
            // Lost records are allocations or releases not seen: the figure can be short by that share, no more
            // than 10% over.
            assertThat((double) ours).as(figures).isLessThanOrEqualTo(truth * 1.10)
                    .isGreaterThanOrEqualTo(truth * (0.90 - lostShare));
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /** Where the allocator probe goes in the target: its file offset in the interpreter's executable mapping. */
    private static long probeAddress(long pid) throws Exception {
        try (Target t = Target.attach(pid)) {
            String object = t.interpreter().objectPath();
            dev.spyglass.internal.leaks.ProbePoints p = dev.spyglass.internal.leaks.ProbePoints.forTarget(t,
                    Path.of(object), false);
            for (ProcessMap.Mapping m : ProcessMap.read(pid).mappings()) {
                if (m.executable() && m.path().equals(object) && p.allocOffset() >= m.fileOffset()
                        && p.allocOffset() < m.fileOffset() + m.size()) {
                    return m.start() + p.allocOffset() - m.fileOffset();
                }
            }
            throw new AssertionError("no executable mapping of " + object + " holds file offset " + p.allocOffset());
        }
    }

    private static byte byteAt(long pid, long address) throws Exception {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(address);
            return (byte) mem.read();
        }
    }
}
