package dev.spyglass.internal.session;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import java.time.Duration;
import dev.spyglass.internal.kernel.KernelFrames;
import dev.spyglass.internal.kernel.PerfSampleCost;
import dev.spyglass.internal.nativeframes.NativeFrames;
import dev.spyglass.internal.nativeframes.NativeStacks;
import dev.spyglass.internal.nativeframes.NonStopNativeStacks;
import dev.spyglass.internal.nativeframes.StopTimeHistogram;
import dev.spyglass.internal.python.Target;

/** Opens the {@link PythonStackSource} of one attached process with the frames a {@link Sampler} asks for. */
public final class PythonStackSources {

    private PythonStackSources() {
    }

    /**
     * The source of {@code target}, with native and kernel frames as {@code config} asks; it owns the target once
     * returned. On failure the target is left open (the caller closes it).
     */
    public static PythonStackSource open(Sampler config, Target target) throws SpyglassException {
        long intervalNanos = config.interval().toNanos();
        NativeFrames natives = !config.nativeFrames() ? null
                : config.nativeEngine() == Sampler.NativeEngine.NON_STOP
                        ? new NonStopNativeStacks(target, intervalNanos, config.interpreterFrames())
                        : new NativeStacks(target, config.interpreterFrames(), config.nativeFramesOfAllThreads());
        KernelFrames kernel;
        try {
            kernel = config.kernelFrames() ? new KernelFrames(target.pid(), intervalNanos) : null;
        } catch (RuntimeException | Error e) {
            if (natives != null) {
                natives.close();
            }
            throw e;
        }
        PythonStackSource source = new PythonStackSource(target, intervalNanos, natives, kernel);
        source.asyncTasks(config.asyncTasks());
        return source;
    }

    /** The non-stop engine's snapshot counts of the target's source ({@code NONE} without that engine). */
    public static SamplingStats.NativeSnapshots nativeSnapshots(PythonStackSource python) {
        if (python.pageFaults() != null) {
            var f = python.pageFaults();
            return new SamplingStats.NativeSnapshots(f.spliced(), f.unspliced(), f.lost());
        }
        if (python.natives() instanceof NonStopNativeStacks n) {
            return new SamplingStats.NativeSnapshots(n.spliced(), n.unspliced(), n.lost());
        }
        return SamplingStats.NativeSnapshots.NONE;
    }

    /**
     * The target's time taken by the kernel's perf samples, per perf engine the source uses (none: empty). Only
     * {@code calibrateNow} may calibrate (once per JVM, ~0.2 - 0.5 s): the session calls it when sampling has ended,
     * so the calibration's spinning thread does not compete with the target.
     */
    public static java.util.List<SamplingStats.PerfCost> perfCosts(PythonStackSource python, boolean calibrateNow) {
        java.util.List<SamplingStats.PerfCost> costs = new java.util.ArrayList<>(2);
        if (python.natives() instanceof NonStopNativeStacks n) {
            costs.add(cost(SamplingStats.PerfCost.Engine.NON_STOP_NATIVE, n.samplesTaken(),
                    NonStopNativeStacks.sampleCost(calibrateNow)));
        }
        if (python.kernel() != null) {
            costs.add(cost(SamplingStats.PerfCost.Engine.KERNEL_FRAMES, python.kernel().samplesTaken(),
                    PerfSampleCost.kernelCallchains(calibrateNow)));
        }
        return costs;
    }

    private static SamplingStats.PerfCost cost(SamplingStats.PerfCost.Engine engine, long samples,
            PerfSampleCost.Result r) {
        PerfSampleCost.Estimate e = r.estimate();
        if (e == null) {
            return new SamplingStats.PerfCost(engine, samples, java.util.Optional.empty(), r.failure());
        }
        return new SamplingStats.PerfCost(engine, samples, java.util.Optional.of(new SamplingStats.PerfCost.Calibration(
                Duration.ofNanos(Math.round(e.medianNanos())), Duration.ofNanos(Math.round(e.lowNanos())),
                Duration.ofNanos(Math.round(e.highNanos())), e.pairs(), Duration.ofNanos(e.tookNanos()))), "");
    }

    /** How long the brief-stop engine stopped the target's threads ({@code NONE} without that engine). */
    public static SamplingStats.ThreadStops threadStops(PythonStackSource python) {
        if (!(python.natives() instanceof NativeStacks natives) || natives.stopTimes().count() == 0) {
            return SamplingStats.ThreadStops.NONE;
        }
        StopTimeHistogram h = natives.stopTimes();
        return new SamplingStats.ThreadStops(h.count(), Duration.ofNanos(h.percentileNanos(0.5)),
                Duration.ofNanos(h.percentileNanos(0.99)), Duration.ofNanos(h.maxNanos()));
    }
}
