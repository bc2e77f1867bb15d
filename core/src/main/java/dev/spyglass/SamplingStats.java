package dev.spyglass;

import java.time.Duration;

/**
 * Counters of a {@link SamplingSession}, consistent with each other at the moment they were taken.
 *
 * <p>A tick is planned every {@code interval} from the start. A tick that cannot be taken on time is
 * taken late ({@code timeBehindSchedule}); when the sampler is more than a whole interval late (its
 * thread did not get a CPU, or a tick took longer than the interval) the missed ticks are skipped, not
 * taken in a burst, and counted in {@code skippedTicks}. {@link #fellBehind()} tells when so many were
 * skipped that the achieved rate is well below the requested one, as py-spy's "behind in sampling"
 * warning does: the profile then has fewer samples than asked for, though each still weighs the time it
 * stands for.
 *
 * @param samples            samples delivered to the queue (one per thread per tick)
 * @param tornSamples        thread stacks dropped because the target changed while they were read
 *                           (see the package documentation); never emitted
 * @param droppedSamples     samples dropped because the consumer did not keep up (queue full)
 * @param ticks              sampling ticks taken (each looks at every thread)
 * @param elapsed            time since sampling started (until it ended, for an ended session)
 * @param achievedRate       ticks per second over {@code elapsed}; 0 before the first tick
 * @param timeBehindSchedule total lateness of ticks against their planned times
 * @param skippedTicks       ticks planned in {@code elapsed} (one every {@code interval}) that were not
 *                           taken because the sampler was behind; 0 or more. The tick in progress is not
 *                           counted, so a sampler on time shows 0
 * @param interval           the requested time between ticks ({@link Sampler.Builder#interval})
 * @param threadStops        how long threads were held stopped to read native frames
 *                           ({@link Sampler.Builder#nativeFrames}); {@link ThreadStops#NONE} otherwise (also
 *                           with the {@link Sampler.NativeEngine#NON_STOP} engine, which stops none)
 * @param nativeSnapshots    with the {@link Sampler.NativeEngine#NON_STOP} engine, how many samples had native
 *                           frames spliced in and how many not; in {@link SamplingMode#PAGE_FAULTS} the same of
 *                           its fault samples (lost: fault snapshots dropped, their bytes not counted);
 *                           {@link NativeSnapshots#NONE} otherwise
 * @param tornReads          thread reads torn at their first attempt, and how many of those the one retry made at
 *                           once recovered ({@link TornReads#NONE} where unknown)
 * @param perfCosts          the target's time taken by the kernel's perf samples, one entry per engine that has the
 *                           kernel sample the target's threads ({@link PerfCost.Engine}); empty for sessions without
 *                           one (the brief-stop engine's time is measured, in {@code threadStops})
 */
public record SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
        double achievedRate, Duration timeBehindSchedule, long skippedTicks, Duration interval, ThreadStops threadStops,
        NativeSnapshots nativeSnapshots, TornReads tornReads, java.util.List<PerfCost> perfCosts) {

    /**
     * The time an engine's perf samples took from the target's threads. The kernel takes each sample inside an
     * interrupt on the sampled thread (copying its user stack, or walking its kernel callchain), which nothing
     * outside can time one by one: so the time per sample is <em>estimated</em>, by a calibration on a spinning
     * thread of this JVM sampled by the same kind of event, in windows interleaved with unsampled ones (its lost
     * progress per sample). It runs once per JVM, when a session with such an engine has ended; the quartiles of its
     * window pairs say how steady the figure was (a loaded machine widens them).
     *
     * @param engine      which engine's samples
     * @param samples     samples the kernel took of the target's threads (written to the rings, and dropped for a
     *                    full ring), up to the session's last look
     * @param calibration the estimated time per sample; empty before the session has ended (unless already known
     *                    in this JVM), or when the calibration could not measure it ({@code uncalibrated} says why)
     * @param uncalibrated why there is no calibration; empty when there is
     */
    public record PerfCost(Engine engine, long samples, java.util.Optional<Calibration> calibration,
            String uncalibrated) {

        /** The engines whose samples the kernel takes on the target's time. */
        public enum Engine {
            /** {@link Sampler.NativeEngine#NON_STOP}: a user-stack copy (16 KiB) and registers per snapshot. */
            NON_STOP_NATIVE,
            /** {@link Sampler.Builder#kernelFrames}: a kernel callchain per CPU-clock sample of a running thread. */
            KERNEL_FRAMES
        }

        /**
         * One sample's cost, estimated.
         *
         * @param perSample    the median over the window pairs
         * @param lowQuartile  their lower quartile
         * @param highQuartile their upper quartile
         * @param windowPairs  the pairs of windows measured
         * @param took         how long the calibration ran
         */
        public record Calibration(Duration perSample, Duration lowQuartile, Duration highQuartile, int windowPairs,
                Duration took) {
        }

        /** @throws NullPointerException when a component is null */
        public PerfCost {
            java.util.Objects.requireNonNull(engine, "engine");
            java.util.Objects.requireNonNull(calibration, "calibration");
            java.util.Objects.requireNonNull(uncalibrated, "uncalibrated");
        }

        /** The target's time the samples took in all, estimated: {@code samples} times the median per sample. */
        public java.util.Optional<Duration> estimatedTotal() {
            return calibration.map(c -> c.perSample().multipliedBy(samples));
        }
    }

    /** Stats without perf samples' costs (no entry in {@link #perfCosts}). */
    public SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
            double achievedRate, Duration timeBehindSchedule, long skippedTicks, Duration interval,
            ThreadStops threadStops, NativeSnapshots nativeSnapshots, TornReads tornReads) {
        this(samples, tornSamples, droppedSamples, ticks, elapsed, achievedRate, timeBehindSchedule, skippedTicks,
                interval, threadStops, nativeSnapshots, tornReads, java.util.List.of());
    }

    /** The cost of the engine {@code engine}, when the session used it. */
    public java.util.Optional<PerfCost> perfCost(PerfCost.Engine engine) {
        return perfCosts.stream().filter(c -> c.engine() == engine).findFirst();
    }

    /**
     * Thread reads that failed their checks at the first attempt of a tick. Such a thread is read once more at
     * once (its thread state and frames read again, none of the first read kept); a whole second read is the
     * thread's sample of that tick, with the tick's time and weight like every other thread's, and is counted in
     * {@link SamplingStats#samples()} only. A thread whose thread state itself could not be read (it was
     * exiting) is not read again.
     *
     * @param tornAtFirst thread reads torn at their first attempt
     * @param recovered   of those, whole at the retry (0 to {@code tornAtFirst})
     */
    public record TornReads(long tornAtFirst, long recovered) {
        /** Nothing was counted. */
        public static final TornReads NONE = new TornReads(0, 0);

        /**
         * Reads still torn after the retry, or not retried: {@code tornAtFirst - recovered}. Each is also in
         * {@link SamplingStats#tornSamples()}, which also counts stacks dropped for other reasons (native and
         * Python frames disagreeing with the brief-stop engine).
         */
        public long stillTorn() {
            return tornAtFirst - recovered;
        }
    }

    /**
     * What the {@link Sampler.NativeEngine#NON_STOP} native engine made of its kernel snapshots.
     *
     * @param spliced   samples with native frames spliced in (the thread had not run since the snapshot, or
     *                  showed the same Python stack at the reads around it), including those merged partially
     *                  (a stack deeper than the copy)
     * @param unspliced samples emitted with their Python frames under {@link Frame#NATIVE_FRAMES_UNKNOWN}: no
     *                  snapshot could be tied to that read (mostly: the thread moved through Python code)
     * @param lost      snapshots the kernel dropped because a thread's ring buffer was full
     */
    public record NativeSnapshots(long spliced, long unspliced, long lost) {
        /** No snapshot was taken (a session without the non-stop engine). */
        public static final NativeSnapshots NONE = new NativeSnapshots(0, 0, 0);
    }

    /** @throws NullPointerException when a component is null */
    public SamplingStats {
        java.util.Objects.requireNonNull(threadStops, "threadStops");
        java.util.Objects.requireNonNull(nativeSnapshots, "nativeSnapshots");
        java.util.Objects.requireNonNull(tornReads, "tornReads");
        perfCosts = java.util.List.copyOf(perfCosts);
    }

    /** Stats without torn-read counts ({@link TornReads#NONE}). */
    public SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
            double achievedRate, Duration timeBehindSchedule, long skippedTicks, Duration interval,
            ThreadStops threadStops, NativeSnapshots nativeSnapshots) {
        this(samples, tornSamples, droppedSamples, ticks, elapsed, achievedRate, timeBehindSchedule, skippedTicks,
                interval, threadStops, nativeSnapshots, TornReads.NONE);
    }

    /** Stats of a session without the non-stop engine ({@link NativeSnapshots#NONE}). */
    public SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
            double achievedRate, Duration timeBehindSchedule, long skippedTicks, Duration interval,
            ThreadStops threadStops) {
        this(samples, tornSamples, droppedSamples, ticks, elapsed, achievedRate, timeBehindSchedule, skippedTicks,
                interval, threadStops, NativeSnapshots.NONE);
    }

    /**
     * How long the target's threads were held stopped, one stop per thread per tick, from the stop
     * request to the thread's release (it includes reading its registers, native stack and the Python
     * stacks of the threads stopped with it). Figures are at microsecond resolution.
     *
     * @param stops  how many thread stops
     * @param median the median stop
     * @param p99    the 99th percentile
     * @param max    the longest
     */
    public record ThreadStops(long stops, Duration median, Duration p99, Duration max) {
        /** No thread was stopped (a session without native frames). */
        public static final ThreadStops NONE = new ThreadStops(0, Duration.ZERO, Duration.ZERO, Duration.ZERO);

        /** @throws NullPointerException when a duration is null */
        public ThreadStops {
            java.util.Objects.requireNonNull(median, "median");
            java.util.Objects.requireNonNull(p99, "p99");
            java.util.Objects.requireNonNull(max, "max");
        }
    }

    /** Stats of a session that stops no thread ({@link ThreadStops#NONE}). */
    public SamplingStats(long samples, long tornSamples, long droppedSamples, long ticks, Duration elapsed,
            double achievedRate, Duration timeBehindSchedule, long skippedTicks, Duration interval) {
        this(samples, tornSamples, droppedSamples, ticks, elapsed, achievedRate, timeBehindSchedule, skippedTicks,
                interval, ThreadStops.NONE);
    }

    /** The share of planned ticks below which {@link #fellBehind()} is true: 90%. */
    public static final double BEHIND_THRESHOLD = 0.9;

    /** Ticks per second requested: one per {@link #interval()}. */
    public double requestedRate() {
        return 1e9 / interval.toNanos();
    }

    /**
     * The share of planned ticks that were taken, {@code ticks / (ticks + skippedTicks)}, from 0 to 1;
     * 1 before the first tick.
     */
    public double achievedShare() {
        long planned = ticks + skippedTicks;
        return planned == 0 ? 1.0 : (double) ticks / planned;
    }

    /**
     * {@code true} when fewer than 90% of the planned ticks were taken ({@link #BEHIND_THRESHOLD}): the
     * sampler could not keep the requested interval (a loaded machine, an interval shorter than a look at
     * the target's threads takes). A longer interval, or fewer competing processes, gives a truer profile.
     */
    public boolean fellBehind() {
        return achievedShare() < BEHIND_THRESHOLD;
    }
}
