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
 * {@link LeakTracker.Level#POOLS}: pymalloc's pool refills probed in place of its arenas, their releases read from
 * the pools' headers. The target is {@link LeakTrackerArenaTest}'s ({@code leak_small} keeps about 25 MB of small
 * objects while {@code churn_small} frees what it allocates), then {@code temporary} allocates 20,000 more tuples
 * (about 7.8 MB) and frees them all once the test saw them: nothing refills a pool afterwards, so only the reading
 * of the headers can find those pools released.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(LeakTrackerTest.ALLOCATION_PROBES)
class LeakTrackerPoolTest {
    static final String SCRIPT = LeakTrackerArenaTest.SCRIPT.replace("for line in sys.stdin:", String.join("\n",
            "held = []",
            "def temporary():",
            "    x = 200000",
            "    for _ in range(20000):",
            "        x += 1",
            "        held.append((x,) * 40)",
            "    # waits here for 'drop': a pool is named by its thread's stack read at the poll, which on a loaded",
            "    # machine may come after the loop; in here, a late read names it too (4.8 of ~7 MB once before)",
            "    ack('.temp')",
            "    sys.stdin.readline()",
            "def ack(name):",
            "    with open(sys.argv[1] + name, 'w') as f: f.write('1')",
            "for line in sys.stdin:",
            "    if line.startswith('temp'):",
            "        temporary()",
            "        del held[:]",
            "        ack('.drop')"));

    /** Pool bytes under the leaking stack against the bytes kept: at least this share of them, at most the inverse. */
    static final double FACTOR = 0.75;

    @ForEachPython
    void ranksTheLeakFirstAmongPoolsAndFindsReleasedPoolsByTheirHeaders(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "allocation probes: 3.8+");
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path script = PythonScripts.write("leaky_pools.py", SCRIPT);
        Path figure = Files.createTempFile("kept", ".txt");
        Files.delete(figure);
        Path temp = Path.of(figure + ".temp");
        Path drop = Path.of(figure + ".drop");
        ProcessBuilder b = py.processBuilder(script.toString(), figure.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        try (PythonScripts.Running target = PythonScripts.awaitReady(py, b.start(), script)) {
            LeakReport report;
            LeakReport whileHeld;
            try (LeakTracker t = LeakTracker.attach(target.pid(), LeakTracker.DEFAULT_CAPACITY, false,
                    LeakTracker.Level.POOLS)) {
                String probes = t.probes();
                if (!probes.contains("pymalloc pools: ")) {
                    // 3.8 (the refill inlined), stripped and free-threaded builds: said, and the arenas stand in.
                    assertThat(probes).contains("pymalloc pools not probed: ");
                    Assumptions.abort("no pool probe on " + py.label() + ": " + probes);
                }
                assertThat(probes).doesNotContain("pymalloc arenas: ");
                target.send("mark");
                target.send("end");
                LeakWindow.pollUntilWritten(t, figure, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(figure), "the target did not finish its leak in 60 s (load?)");
                t.poll();
                report = t.report();
                target.send("temp");
                LeakWindow.pollUntilWritten(t, temp, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(temp), "the target did not allocate in 60 s (load?)");
                t.poll();
                whileHeld = t.report();
                target.send("drop");
                LeakWindow.pollUntilWritten(t, drop, 60_000_000_000L);
                Assumptions.assumeTrue(Files.exists(drop), "the target did not free in 60 s (load?)");
                t.poll();
                LeakReport afterDrop = t.report();
                long held = LeakWindow.survivingBytes(whileHeld, "temporary");
                long left = LeakWindow.survivingBytes(afterDrop, "temporary");
                String swept = String.format(Locale.ROOT, "%s: temporary's pools %d B while held, %d B after its"
                        + " objects were freed; %d frees in all", py.label(), held, left, afterDrop.frees());
                System.out.println(swept);
                // 20,000 tuples of 360 B in 16 KiB pools (4 KiB on 3.9): 6.4 - 8.3 MB of pools measured while held.
                assertThat(held).as(swept).isGreaterThan(5_000_000L);
                // The pools taken for the tuples after the leak ended hold nothing else: each reads empty. Their ints'
                // pools may also hold ints kept elsewhere: a few may stay.
                assertThat(left).as(swept).isLessThan(held / 10);
            }
            long truth = Long.parseLong(Files.readString(figure).trim());
            List<LeakReport.StackReport> pools = report.stacks().stream()
                    .filter(s -> s.frames().get(0).equals(Frame.PYMALLOC_POOL))
                    .sorted((x, y) -> Long.compare(y.survivingBytes(), x.survivingBytes())).toList();
            long ours = pools.stream().filter(s -> has(s, "leak_small"))
                    .mapToLong(LeakReport.StackReport::survivingBytes).sum();
            long churn = pools.stream().filter(s -> has(s, "churn_small"))
                    .mapToLong(LeakReport.StackReport::survivingBytes).sum();
            String figures = String.format(Locale.ROOT, "%s: %s; %d allocations, %d frees, %d lost; leak_small's"
                    + " pools %d B, bytes kept (getsizeof) %d B (%.1f%%); churn_small's pools %d B",
                    py.label(), report.probes(), report.allocations(), report.frees(), report.lostRecords(), ours,
                    truth, 100.0 * ours / Math.max(1, truth), churn);
            System.out.println(figures);
            assertThat(report.meaning()).contains("<pymalloc pool>").contains("sample");
            assertThat(pools).as(figures).isNotEmpty();
            assertThat(has(pools.get(0), "leak_small")).as("%s; first: %s", figures, pools.get(0)).isTrue();
            assertThat(pools.get(0).suspect()).as(figures).isTrue();
            assertThat((double) ours).as(figures).isGreaterThanOrEqualTo(truth * FACTOR)
                    .isLessThanOrEqualTo(truth / FACTOR);
            assertThat((double) churn).as("the churner keeps little: %s", figures).isLessThan(truth * 0.1);
        } finally {
            Files.deleteIfExists(figure);
            Files.deleteIfExists(temp);
            Files.deleteIfExists(drop);
        }
    }
}
