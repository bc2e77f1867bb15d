package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.internal.kernel.KernelFrames;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link SamplingStats#perfCosts()} of real sessions on a CPU-bound interpreter: each perf engine used reports the
 * samples the kernel took of the target (about one per interval of its CPU time) and a calibrated time per sample;
 * engines not used report nothing.
 */
class PerfCostsTest {
    private static final String TARGET = String.join("\n",
            "import sys, threading",
            "",
            "def spin():",
            "    while True:",
            "        sum(range(100))",
            "",
            "threading.Thread(target=spin).start()",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "spin()",
            "");
    private static final Duration INTERVAL = Duration.ofMillis(5);

    @ForEachPython
    void nonStopSessionsReportTheirSnapshotsCost(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        NonStopNativeFramesTest.assumeNonStop();
        SamplingStats s = run(py, Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP));
        check(s, SamplingStats.PerfCost.Engine.NON_STOP_NATIVE);
        assertThat(s.perfCost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES)).isEmpty();
    }

    @ForEachPython
    void kernelFramesSessionsReportTheirSamplesCost(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(KernelFrames.refusal() == null, () -> "kernel frames refused: " + KernelFrames.refusal());
        SamplingStats s = run(py, Sampler.builder().kernelFrames(true));
        check(s, SamplingStats.PerfCost.Engine.KERNEL_FRAMES);
        assertThat(s.perfCost(SamplingStats.PerfCost.Engine.NON_STOP_NATIVE)).isEmpty();
    }

    @ForEachPython
    void sessionsWithoutPerfEnginesReportNone(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assertThat(run(py, Sampler.builder()).perfCosts()).as("Python frames only").isEmpty();
        dev.spyglass.internal.nativeframes.NativeTargets.assumePtrace();
        SamplingStats s = run(py, Sampler.builder().nativeFrames(true));
        assertThat(s.threadStops().stops()).as("the brief-stop engine's stops are measured").isPositive();
        assertThat(s.perfCosts()).as("brief-stop native frames").isEmpty();
    }

    /**
     * A 2.5 s session of the target's two spinning threads (started through a shell: the brief-stop engine does not
     * trace a child of this JVM); the target's CPU time while sampled goes to {@link #lastCpuNanos}.
     */
    private static SamplingStats run(PythonInterpreter py, Sampler.Builder b) throws Exception {
        Path script = PythonScripts.write("perf_costs.py", TARGET);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            try (SamplingSession session = b.interval(INTERVAL).duration(Duration.ofMillis(2500)).build()
                    .attach(target.pid())) {
                long cpuBefore = cpuNanos(target.pid());
                session.forEach(x -> {
                });
                lastCpuNanos = cpuNanos(target.pid()) - cpuBefore;
                return session.stats();
            }
        }
    }

    private static long lastCpuNanos;

    private static void check(SamplingStats s, SamplingStats.PerfCost.Engine engine) {
        SamplingStats.PerfCost c = s.perfCost(engine).orElseThrow();
        String figures = String.format(Locale.ROOT, "%s: %,d samples, target CPU %d ms, %d ticks, %s, %s; load %s",
                engine, c.samples(), lastCpuNanos / 1_000_000, s.ticks(), s.nativeSnapshots(), c.calibration().map(Object::toString).orElse(c.uncalibrated()),
                PythonScripts.loadAverage());
        System.out.println(figures);
        // Samples are counted as the looks read them: a sampler that got a handful of looks (a first session's slow
        // start on a loaded machine: 2 looks in 1.5 s seen at load 10 - 15) read few, the rest dropped uncounted.
        Assumptions.assumeTrue(s.ticks() >= 30, "the sampler took too few looks: " + figures);
        // One clock sample per interval of each thread's CPU time, at least half of them read by the last look.
        assertThat(c.samples()).as(figures).isGreaterThanOrEqualTo(lastCpuNanos / INTERVAL.toNanos() / 2);
        // Skipped only for a starved machine; a calibration that found no sample fails.
        Assumptions.assumeFalse(c.uncalibrated().contains(dev.spyglass.internal.kernel.PerfSampleCost.STARVED), figures);
        assertThat(c.calibration()).as(figures).isPresent();
        SamplingStats.PerfCost.Calibration k = c.calibration().get();
        assertThat(k.lowQuartile()).as(figures).isPositive();
        assertThat(k.perSample()).as(figures).isBetween(k.lowQuartile(), k.highQuartile());
        assertThat(k.highQuartile()).as(figures).isLessThan(Duration.ofMillis(2));
        assertThat(c.estimatedTotal().orElseThrow()).isEqualTo(k.perSample().multipliedBy(c.samples()));
        assertThat(c.uncalibrated()).isEmpty();
    }

    /** The process's user + system time, from /proc/PID/stat (clock ticks of 10 ms). */
    private static long cpuNanos(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }
}
