package dev.spyglass.internal.session;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import java.time.Duration;
import dev.spyglass.internal.kernel.KernelFrames;
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
