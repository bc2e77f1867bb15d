package dev.spyglass;

import static dev.spyglass.LeakWindow.has;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link LeakTracker}'s coarse level on a leak of small objects alone, which only its pymalloc arena probes see:
 * {@code leak_small} keeps 64,000 40-item tuples (360 bytes each, with a new int: small objects, no raw block)
 * while {@code churn_small} allocates and frees 100 2-item tuples every 10 ms. Ground truth: the bytes kept,
 * counted by the target ({@code sys.getsizeof} of each tuple and its int, GC header included; about 25 MB, so
 * that arenas of 1 MiB, 256 KiB before 3.10, quantise it finely). Not tracemalloc, as the other leak tests use:
 * it keeps each trace in a raw block, and at this level every raw allocation traps, so the target took
 * 115 - 185 s per interpreter to leak under tracemalloc, and a few seconds without. The arenas' stacks are a
 * sample (the allocation that needed the arena), so the figure is judged within a factor, stated below with the
 * measured figures in docs/memory.md.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class LeakTrackerArenaTest {
    static final String SCRIPT = String.join("\n",
            "import os, sys, threading, time",
            "kept = []",
            "leaked = [0]",
            "go, done = threading.Event(), threading.Event()",
            "def leak_small():",
            "    go.wait()",
            "    x = 100000",
            "    for _ in range(64):",
            "        for _ in range(1000):",
            "            x += 1",
            "            t = (x,) * 40",
            "            kept.append(t)",
            "            leaked[0] += sys.getsizeof(t) + sys.getsizeof(x)",
            "        time.sleep(0.005)",
            "    done.set()",
            "    threading.Event().wait()",
            "def churn_small():",
            "    while not done.is_set():",
            "        tmp = [(i, i + 1) for i in range(100000, 100100)]",
            "        del tmp",
            "        time.sleep(0.01)",
            "    while True:",
            "        time.sleep(3600)",
            "threading.Thread(target=churn_small, name='churner', daemon=True).start()",
            "threading.Thread(target=leak_small, name='leaker', daemon=True).start()",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "for line in sys.stdin:",
            "    if line.startswith('mark'):",
            "        go.set()",
            "    elif line.startswith('end'):",
            "        done.wait()",
            "        n = leaked[0]",
            "        with open(sys.argv[1] + '.tmp', 'w') as f: f.write(str(n))",
            "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
            "");

    /** Arena bytes under the leaking stack against the bytes kept: at least this share of them, at most the inverse. */
    static final double FACTOR = 0.5;

    @ForEachPython
    void ranksTheStackLeakingSmallObjectsFirstAmongArenas(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "allocation probes: 3.8+");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path script = PythonScripts.write("leaky_arenas.py", SCRIPT);
        Path figure = Files.createTempFile("tracemalloc", ".txt");
        Files.delete(figure);
        ProcessBuilder b = py.processBuilder(script.toString(), figure.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            LeakReport report;
            try (LeakTracker t = LeakTracker.attach(target.pid(), LeakTracker.DEFAULT_CAPACITY, false,
                    LeakTracker.Level.COARSE)) {
                // Stripped builds take the arena-table route; a 3.12+ stripped build's getter takes the runtime's
                // lock first, in a shape not seen on this machine: skipped when not decoded, never guessed.
                Assumptions.assumeFalse(t.probes().contains("does not show where its table is"),
                        "no arena probe: " + t.probes());
                assertThat(t.probes()).contains("pymalloc arenas: ");
                target.send("mark");
                target.send("end");
                // The leak is a count, not a time: on a loaded machine it takes longer, so wait for it with a deadline.
                LeakWindow.pollUntilWritten(t, figure, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(figure), "the target did not finish its leak in 60 s (load?)");
                t.poll();
                report = t.report();
            }
            long truth = Long.parseLong(Files.readString(figure).trim());
            Files.delete(figure);
            List<LeakReport.StackReport> arenas = report.stacks().stream()
                    .filter(s -> s.frames().get(0).equals(Frame.PYMALLOC_ARENA))
                    .sorted((x, y) -> Long.compare(y.survivingBytes(), x.survivingBytes())).toList();
            long ours = arenas.stream().filter(s -> has(s, "leak_small"))
                    .mapToLong(LeakReport.StackReport::survivingBytes).sum();
            long churn = arenas.stream().filter(s -> has(s, "churn_small"))
                    .mapToLong(LeakReport.StackReport::survivingBytes).sum();
            String figures = String.format(Locale.ROOT, "%s: %s; %d allocations, %d frees, %d lost; leak_small's"
                    + " arenas %d B, bytes kept (getsizeof) %d B (%.1f%%); churn_small's arenas %d B",
                    py.label(), report.probes(), report.allocations(), report.frees(), report.lostRecords(), ours,
                    truth, 100.0 * ours / Math.max(1, truth), churn);
            System.out.println(figures);
            assertThat(report.meaning()).contains("<pymalloc arena>").contains("sample");
            assertThat(arenas).as(figures).isNotEmpty();
            assertThat(has(arenas.get(0), "leak_small")).as("%s; first: %s", figures, arenas.get(0)).isTrue();
            assertThat(arenas.get(0).suspect()).as(figures).isTrue();
            assertThat((double) ours).as(figures).isGreaterThanOrEqualTo(truth * FACTOR)
                    .isLessThanOrEqualTo(truth / FACTOR);
        }
    }
}
