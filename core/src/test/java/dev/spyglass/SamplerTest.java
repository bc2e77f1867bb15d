package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/** Sampling sessions against real interpreters, attached and launched. */
@Execution(ExecutionMode.CONCURRENT)
class SamplerTest {
    /** Tests whose targets burn CPU run one at a time: on 2 cores they would starve each other. */
    static final String CPU_BOUND = "cpu-bound-target";

    private static ProcessBuilder quiet(PythonInterpreter py, Path script) {
        return py.processBuilder(script.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
    }

    @ForEachPython
    void launchedSamplingShowsDeepRecursionOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        int depth = 12;
        String source = PythonScripts.RECURSION.replace("DEPTH", Integer.toString(depth));
        Path script = PythonScripts.write("recursion.py", source);
        List<String> expected = SnapshotTest.expectedRecursion(script, source, depth);
        // Sampling starts with the process; a loaded machine may take over a second to bring the
        // interpreter to the leaf, so sample until 150 samples were taken from the first full stack on.
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(2)).duration(Duration.ofSeconds(20)).build();
        List<StackSample> samples = new ArrayList<>();
        int[] firstMatch = {-1};
        SamplingSession s = sampler.launch(quiet(py, script));
        try (s) {
            assertThat(s.version().toString()).startsWith(py.version());
            s.forEach(x -> {
                samples.add(x);
                if (firstMatch[0] < 0 && SnapshotTest.describe(x.frames()).equals(expected)) {
                    firstMatch[0] = samples.size() - 1;
                }
                if (firstMatch[0] >= 0 && samples.size() - firstMatch[0] >= 150) {
                    s.stop();
                }
            });
        } finally {
            s.process().orElseThrow().destroyForcibly();
        }
        assertThat(firstMatch[0]).as("index of the first sample with the full expected stack, of %d: last %s",
                samples.size(), samples.isEmpty() ? "none" : samples.get(samples.size() - 1)).isNotNegative();
        List<StackSample> settled = samples.subList(firstMatch[0], samples.size());
        long matching = settled.stream().filter(x -> SnapshotTest.describe(x.frames()).equals(expected)).count();
        // Once in the leaf loop the target stays there: later samples show the same stack, but for the
        // rare one caught on the loop's jump back (the while line).
        assertThat(matching).as("samples with the full expected stack, of %d from the first one on", settled.size())
                .isGreaterThanOrEqualTo(settled.size() * 9L / 10);
        StackSample one = samples.get(samples.size() - 1);
        assertThat(one.pid()).isEqualTo(s.pid());
        assertThat(one.nativeThreadId()).isEqualTo(s.pid());
        // Wall mode: the time since the thread's previous sample, at least one interval when the
        // sampler keeps up, at most the cap (1 s at a 2 ms interval).
        assertThat(one.weightNanos()).isPositive().isLessThanOrEqualTo(1_000_000_000L);
        assertThat(one.timestampNanos()).isCloseTo(System.currentTimeMillis() * 1_000_000L,
                org.assertj.core.data.Offset.offset(60_000_000_000L));
        SamplingStats stats = s.stats();
        assertThat(stats.samples()).isEqualTo(samples.size());
        assertThat(stats.ticks()).isGreaterThan(50);
        assertThat(stats.droppedSamples()).isZero();
    }

    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void wallModeSeesEveryThreadAndCpuModeOnlyBusyOnesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // The sleepers and the main thread sleep an hour per call here, not 0.2 s: woken, a thread waits for the
        // GIL and, on a loaded machine, for a CPU in state R, which CPU mode counts (documented), so the share it
        // got in CPU mode measured the load. The test skipped when the target waited 50 ms for a CPU in the
        // 500 ms window: every run with two CPU hogs on 2 cores. Asleep throughout, they are never runnable.
        String source = PythonScripts.THREADS.replace("time.sleep(0.2)  #", "time.sleep(3600)  #");
        Path script = PythonScripts.write("threads.py", source);
        int busyOne = PythonScripts.lineOf(source, "# BUSY_ONE");
        int busyTwo = PythonScripts.lineOf(source, "# BUSY_TWO");
        int sleepyOne = PythonScripts.lineOf(source, "# SLEEPY_ONE");
        int sleepyTwo = PythonScripts.lineOf(source, "# SLEEPY_TWO");
        int main = PythonScripts.lineOf(source, "# MAIN");
        // A loop is caught on its body or on its header (the jump back, also right after a sleep).
        Map<String, Set<Integer>> leafLines = Map.of("busy_one", Set.of(busyOne, busyOne - 1), "busy_two",
                Set.of(busyTwo, busyTwo - 1), "sleepy_one", Set.of(sleepyOne, sleepyOne - 1), "sleepy_two",
                Set.of(sleepyTwo, sleepyTwo - 1), "<module>", Set.of(main, main - 1));
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Thread.sleep(150); // let the main thread get from its ready line into its loop
            Map<String, Integer> wall = leafCounts(target.pid(), SamplingMode.WALL, leafLines, py.freeThreaded());
            assertThat(wall.keySet().stream().filter(k -> !k.startsWith("gil:")).toList())
                    .containsExactlyInAnyOrderElementsOf(leafLines.keySet());
            if (!py.freeThreaded()) {
                // The GIL holder is one of the busy threads; a sleeping thread never holds it.
                assertThat(wall.getOrDefault("gil:busy_one", 0) + wall.getOrDefault("gil:busy_two", 0))
                        .as("samples of busy threads holding the GIL: %s", wall).isPositive();
                assertThat(wall.getOrDefault("gil:sleepy_one", 0) + wall.getOrDefault("gil:sleepy_two", 0))
                        .as("samples of sleeping threads holding the GIL: %s", wall).isLessThanOrEqualTo(2);
            }
            // Free-threaded: both busy threads run at once (2 cores); CPU mode must still see both.
            Map<String, Integer> cpu = leafCounts(target.pid(), SamplingMode.CPU, leafLines, py.freeThreaded());
            int total;
            cpu.keySet().removeIf(k -> k.startsWith("gil:"));
            total = cpu.values().stream().mapToInt(Integer::intValue).sum();
            assertThat(cpu.getOrDefault("busy_one", 0)).as("busy_one in %s", cpu).isGreaterThan(total / 5);
            assertThat(cpu.getOrDefault("busy_two", 0)).as("busy_two in %s", cpu).isGreaterThan(total / 5);
            System.out.println(py.label() + ": CPU mode " + cpu + "; load " + PythonScripts.loadAverage());
            for (String sleeper : List.of("sleepy_one", "sleepy_two", "<module>")) {
                assertThat(cpu.getOrDefault(sleeper, 0)).as("%s in CPU mode: %s", sleeper, cpu)
                        .isLessThanOrEqualTo(total / 10);
            }
        }
    }

    /** Samples for 500 ms and counts samples per leaf function, checking each leaf's line and TID. */
    private static Map<String, Integer> leafCounts(long pid, SamplingMode mode, Map<String, Set<Integer>> leafLines,
            boolean freeThreaded) throws Exception {
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofMillis(500)).mode(mode)
                .build();
        Map<String, Integer> counts = new HashMap<>();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(sample -> {
                assertThat(sample.frames()).isNotEmpty();
                Frame leaf = sample.frames().get(0);
                assertThat(leafLines).containsKey(leaf.function());
                assertThat(leafLines.get(leaf.function())).as("line of %s", leaf.function()).contains(leaf.line());
                assertThat(sample.nativeThreadId()).as("TID of %s", leaf.function()).isPositive();
                counts.merge(leaf.function(), 1, Integer::sum);
                if (freeThreaded) {
                    assertThat(sample.gilHeld()).as("no GIL in a free-threaded build").isNull();
                    return;
                }
                assertThat(sample.gilHeld()).as("GIL state is known").isNotNull();
                if (sample.gilHeld()) {
                    counts.merge("gil:" + leaf.function(), 1, Integer::sum);
                }
            });
            assertThat(s.stats().tornSamples()).isLessThanOrEqualTo(s.stats().samples() / 50);
        }
        return counts;
    }

    @ForEachPython
    void shortLivedLaunchedTargetEndsSessionWithExitStatusOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = PythonScripts.SHORT_LIVED;
        Path script = PythonScripts.write("short.py", source);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(5)).build();
        long start = System.nanoTime();
        List<StackSample> samples = new ArrayList<>();
        try (SamplingSession s = sampler.launch(quiet(py, script))) {
            s.forEach(samples::add);
            assertThat(s.awaitTermination(Duration.ofSeconds(5))).isTrue();
            assertThat(s.exitStatus()).hasValue(3);
            assertThat(s.failure()).isEmpty();
        }
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
        int nap = PythonScripts.lineOf(source, "# NAP");
        // Samples at the very start (importing site) or end (finalising) may have no frames.
        assertThat(samples.stream().filter(x -> !x.frames().isEmpty()).map(x -> x.frames().get(0)))
                .anySatisfy(f -> {
                    assertThat(f.function()).isEqualTo("napping");
                    assertThat(f.line()).isEqualTo(nap);
                });
    }

    /**
     * A thread that never sleeps is in state R at every tick, so CPU mode reports it at (nearly) every
     * tick, each sample weighing one interval. Weighing samples by the process CPU clock reported it at
     * about one tick in four: for another process that clock moves in 4 ms scheduler-tick steps.
     */
    @org.junit.jupiter.api.Test
    @ResourceLock(CPU_BOUND)
    void cpuModeReportsABusyThreadAtNearlyEveryTick() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("spin.py", String.join("\n",
                "import sys, time",
                "print('ready', flush=True)",
                "end = time.time() + 8",
                "x = 0",
                "while time.time() < end:",
                "    x += 1",
                ""));
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).duration(Duration.ofMillis(1000))
                .mode(SamplingMode.CPU).build();
        List<StackSample> samples = new ArrayList<>();
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = sampler.attach(target.pid())) {
            s.forEach(samples::add);
            long ticks = s.stats().ticks();
            assertThat(ticks).isGreaterThan(200);
            assertThat(samples).allSatisfy(x -> assertThat(x.weightNanos()).isEqualTo(1_000_000L));
            assertThat(samples).allSatisfy(x -> assertThat(x.state()).isEqualTo(ThreadState.RUNNING));
            assertThat((double) samples.size()).as("CPU-mode samples of a spinning thread in %d ticks", ticks)
                    .isGreaterThan(0.8 * ticks);
        }
    }

    /**
     * Wall mode weighs a sample by the time since the thread's previous one, so a thread's weights add
     * up to the time it was observed even when the sampler falls behind. At 20 µs a 200-frame stack
     * takes longer to read than an interval, so most ticks are skipped: weighing every sample one
     * interval (as before) summed to a fraction of the session's time.
     */
    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void wallModeWeightsAddUpToTheElapsedTimeWhenTheSamplerFallsBehindOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("deepbusy.py", String.join("\n",
                "import sys",
                "def leaf():",
                "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
                "    x = 0",
                "    while True:",
                "        x += 1",
                "def recurse(n):",
                "    if n == 0:",
                "        leaf()",
                "    else:",
                "        recurse(n - 1)",
                "recurse(200)",
                ""));
        long interval = 20_000L;
        Sampler sampler = Sampler.builder().interval(Duration.ofNanos(interval)).duration(Duration.ofSeconds(2))
                .mode(SamplingMode.WALL).build();
        List<StackSample> main = new ArrayList<>();
        SamplingStats stats;
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = sampler.attach(target.pid())) {
            s.forEach(x -> {
                if (x.nativeThreadId() == target.pid()) {
                    main.add(x);
                }
            });
            stats = s.stats();
        }
        long elapsed = stats.elapsed().toNanos();
        long sum = main.stream().mapToLong(StackSample::weightNanos).sum();
        String figures = String.format("%s: %d ticks of %d µs in %d ms (%d torn), main thread's weights sum to %d ms",
                py.label(), stats.ticks(), interval / 1000, elapsed / 1_000_000, stats.tornSamples(), sum / 1_000_000);
        System.out.println(figures);
        assertThat(main).as(figures).isNotEmpty();
        org.junit.jupiter.api.Assumptions.assumeTrue(stats.ticks() * interval < 0.8 * elapsed,
                () -> "the sampler kept up, nothing skipped to weigh: " + figures);
        assertThat(main.get(0).weightNanos()).as("a thread's first sample weighs one interval").isEqualTo(interval);
        long cap = Math.max(1_000_000_000L, 10 * interval);
        assertThat(main).allSatisfy(x -> assertThat(x.weightNanos()).isBetween(0L, cap));
        // Weights cover the thread from its first sample to its last. The recording's duration adds the
        // time before the first tick and after the last one: a few intervals, unless the machine starved
        // the sampling thread right there (seen at load 10: the last tick 130 ms before the end).
        long span = main.get(main.size() - 1).timestampNanos() - main.get(0).timestampNanos() + interval;
        assertThat((double) sum).as(figures).isCloseTo(span, org.assertj.core.data.Percentage.withPercentage(1));
        org.junit.jupiter.api.Assumptions.assumeTrue(elapsed - span < 0.04 * elapsed, () -> String.format(
                "machine overloaded: the sampler's first and last ticks left %d ms of the %d ms uncovered: %s",
                (elapsed - span) / 1_000_000, elapsed / 1_000_000, figures));
        assertThat((double) sum).as(figures).isCloseTo(elapsed, org.assertj.core.data.Percentage.withPercentage(5));
    }

    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void sampledSharesMatchTheTargetsOwnSplitOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("shares.py", PythonScripts.SHARES.replace("DURATION", "2.5"));
        Sampler sampler = Sampler.builder().interval(Duration.ofNanos(900_000)).mode(SamplingMode.CPU).build();
        Map<String, Long> counts = new HashMap<>();
        Process p = py.processBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
            assertThat(out.readLine()).isEqualTo("ready");
            try (SamplingSession s = sampler.attach(p.pid())) {
                s.forEach(x -> counts.merge(x.frames().isEmpty() ? "" : x.frames().get(0).function(),
                        x.weightNanos() / 1000, Long::sum));
                counts.put("(torn)", s.stats().tornSamples());
            }
            String[] totals = out.readLine().split(" ");
            double h = Double.parseDouble(totals[1]);
            double l = Double.parseDouble(totals[2]);
            long heavy = counts.getOrDefault("heavy", 0L);
            long light = counts.getOrDefault("light", 0L);
            // CPU mode counts a thread that waits for a CPU (state R) as on one. When other work on the
            // machine keeps the target off a CPU for a fifth of its 2.5 s or more, its samples count
            // those waits, and where a wait falls is not spread like CPU time: no 3-point bound then.
            org.junit.jupiter.api.Assumptions.assumeTrue(h + l >= 2.0,
                    () -> String.format("machine overloaded: the target ran on a CPU for %.0f ms of its 2.5 s", 1000 * (h + l)));
            double share = 100.0 * heavy / (heavy + light);
            double truth = 100.0 * h / (h + l);
            // The target's own CPU split: 75 % up to the granularity of its CPU clock.
            assertThat(share).as("heavy share (CPU µs) of %s; the target measured %.1f %%", counts, truth)
                    .isCloseTo(75.0, org.assertj.core.data.Offset.offset(3.0));
            assertThat(truth).isCloseTo(75.0, org.assertj.core.data.Offset.offset(2.0));
        } finally {
            p.destroyForcibly();
        }
    }

    @ForEachPython
    void threadsEndingMidWalkGiveTornOrCorrectSamplesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        String source = PythonScripts.THREAD_CHURN;
        Path script = PythonScripts.write("churn.py", source);
        Sampler sampler = Sampler.builder().interval(Duration.ofNanos(200_000)).duration(Duration.ofMillis(800))
                .build();
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = sampler.attach(target.pid())) {
            long[] n = new long[2];
            s.forEach(x -> {
                n[0]++;
                for (Frame f : x.frames()) {
                    if (f.kind() == Frame.FrameKind.PSEUDO) {
                        continue; // <GC>: the churn's allocations set the collector off (marked on every version)
                    }
                    assertThat(f.file()).as("frame %s", f).isNotEmpty();
                    if (f.file().equals(script.toString())) {
                        assertThat(f.function()).isIn("short_lived", "<module>", "<listcomp>");
                        n[1]++;
                    }
                }
            });
            assertThat(s.failure()).isEmpty();
            assertThat(n[0]).isGreaterThan(100);
            assertThat(n[1]).isPositive();
        }
    }
}
