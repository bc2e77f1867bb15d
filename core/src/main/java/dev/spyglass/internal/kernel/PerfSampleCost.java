package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;

/**
 * What one perf sample costs the thread it interrupts, measured on a thread of this JVM: the kernel takes a
 * sample (and copies a user stack or walks a kernel callchain) inside the interrupt, on the target's time,
 * and nothing outside can time one such interrupt. So a spinning thread of our own is sampled by the same
 * kind of event at a fast period, in windows interleaved with windows where it is not sampled; the progress
 * it loses in a sampled window against the unsampled windows on either side, divided by the samples the
 * kernel wrote in it, is one estimate. The median of the pairs is the figure, their quartiles its spread.
 *
 * <p>A window's time is its wall time less the time the thread waited for a CPU ({@code run_delay} of
 * {@code /proc/thread-self/schedstat}), so preemption on a loaded machine does not count as lost progress;
 * interrupt time is in it whatever the kernel's accounting (with {@code CONFIG_IRQ_TIME_ACCOUNTING} the
 * thread's CPU time would leave the interrupts out: measured on Linux 6.18, which has tick accounting).
 *
 * <p>Run once per JVM and event configuration ({@link #of}), then cached. Costs about 0.2 s of one CPU.
 */
public final class PerfSampleCost {
    private static final Logger LOG = LoggerFactory.getLogger(PerfSampleCost.class);
    /** Sample period while calibrating: fast enough that 60 µs samples take ~25% of a window. */
    static final long PERIOD_NANOS = 250_000;
    static final long WINDOW_NANOS = 4_000_000;
    static final int PAIRS = 24;
    /** Windows the thread ran less than this of are thrown away (it waited for a CPU all along). */
    static final long MIN_RUN_NANOS = 1_000_000;
    /** Fewer usable pairs than this: no figure. */
    static final int MIN_PAIRS = 8;
    /** Past this, calibration gives up (a starved machine): no figure. */
    static final long GIVE_UP_NANOS = 2_000_000_000L;

    private static final ConcurrentHashMap<String, Result> CACHE = new ConcurrentHashMap<>();

    private PerfSampleCost() {
    }

    /**
     * The target's time one sample takes, estimated.
     *
     * @param medianNanos per sample, the median of the window pairs
     * @param lowNanos    their lower quartile
     * @param highNanos   their upper quartile
     * @param pairs       window pairs the figure comes from
     * @param tookNanos   how long the calibration ran (wall time, on this JVM's own thread)
     */
    public record Estimate(double medianNanos, double lowNanos, double highNanos, int pairs, long tookNanos) {
    }

    /** An estimate, or why there is none. */
    public record Result(Estimate estimate, String failure) {
        /** Whether there is no figure because the calibration's thread got too little CPU (a loaded machine). */
        public boolean starved() {
            return failure != null && failure.contains(STARVED);
        }
    }

    /** Said of a calibration that got too little CPU. */
    public static final String STARVED = "the machine starved the calibration";

    /**
     * The events under calibration, opened on and closed for one thread of this JVM. Each call is made by
     * that thread itself, between its windows.
     */
    public interface Events extends AutoCloseable {
        /** Starts sampling {@code tid} (a thread of this process). */
        void open(int tid) throws SpyglassException;

        /** Reads what was written, then stops sampling it. */
        void stop();

        /** Samples written so far (read and dropped, over every open). */
        long samples();

        @Override
        void close();
    }

    /**
     * The estimate for {@code key} (one kind of event and its settings), calibrated on the first call in this JVM
     * that may ({@code calibrateNow}) with {@code events} (closed after) and cached; calls for one key wait for the
     * first one.
     */
    static Result of(String key, boolean calibrateNow, java.util.function.Supplier<Events> events) {
        if (!calibrateNow) {
            return CACHE.getOrDefault(key, PENDING);
        }
        Result r = CACHE.computeIfAbsent(key, k -> calibrate(k, events));
        if (r == INTERRUPTED) {
            CACHE.remove(key, r); // says nothing of the machine: the next call calibrates
        }
        return r;
    }

    private static final Result INTERRUPTED = new Result(null, "calibration interrupted");

    private static Result calibrate(String key, java.util.function.Supplier<Events> events) {
        Result[] out = new Result[1];
        // A platform thread of its own: the caller may be a virtual thread, whose carrier would be sampled.
        Thread t = Thread.ofPlatform().daemon().name("spyglass-sample-cost").unstarted(() -> {
            try (Events e = events.get()) {
                out[0] = run(e);
            } catch (SpyglassException | IOException | RuntimeException ex) {
                out[0] = new Result(null, "calibration failed: " + ex.getMessage());
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return INTERRUPTED;
        }
        Result r = out[0] == null ? new Result(null, "calibration failed") : out[0];
        if (r.estimate() != null) {
            Estimate e = r.estimate();
            LOG.debug("Sample cost of {}: {} ns per sample ({} - {}), {} pairs, calibrated in {} ms", key,
                    Math.round(e.medianNanos()), Math.round(e.lowNanos()), Math.round(e.highNanos()), e.pairs(),
                    e.tookNanos() / 1_000_000);
        } else {
            LOG.debug("Sample cost of {}: {}", key, r.failure());
        }
        return r;
    }

    /** Not calibrated yet: the figure comes at the first call that may calibrate. */
    public static final Result PENDING = new Result(null, "calibrated once the session has ended");

    /**
     * What one snapshot of {@link UserStackSamples} ({@code stackBytes} of user stack and registers, at the CPU
     * clock or a context switch) costs the thread it interrupts.
     */
    public static Result userStacks(int stackBytes, boolean calibrateNow) {
        return of("user stacks " + stackBytes, calibrateNow, () -> {
            UserStackSamples s = new UserStackSamples(ProcessHandle.current().pid(), PERIOD_NANOS, stackBytes);
            return new TrackedEvents(s::track, () -> s.drain(Long.MAX_VALUE), s::samplesTaken, s::close);
        });
    }

    /**
     * What one sample of {@link KernelCallchains} (a kernel callchain at the CPU clock) costs the thread it interrupts;
     * {@code calibrateNow} as for {@link #userStacks}.
     */
    public static Result kernelCallchains(boolean calibrateNow) {
        return of("kernel callchains", calibrateNow, () -> {
            KernelCallchains k = new KernelCallchains(ProcessHandle.current().pid(), PERIOD_NANOS);
            return new TrackedEvents(k::track, k::drain, k::samplesTaken, k::close);
        });
    }

    /** Per-thread events opened and closed by following one thread, then none. */
    record TrackedEvents(Tracker track, Runnable drain, java.util.function.LongSupplier taken, Runnable closer)
            implements Events {
        interface Tracker {
            void track(int[] tids, int count) throws SpyglassException;
        }

        @Override
        public void open(int tid) throws SpyglassException {
            track.track(new int[] {tid}, 1);
        }

        @Override
        public void stop() {
            drain.run();
            try {
                track.track(new int[0], 0);
            } catch (SpyglassException e) {
                throw new IllegalStateException(e); // following no thread opens nothing
            }
        }

        @Override
        public long samples() {
            return taken.getAsLong();
        }

        @Override
        public void close() {
            closer.run();
        }
    }

    /** Calibrates on the calling thread. */
    static Result run(Events events) throws SpyglassException, IOException {
        long start = System.nanoTime();
        int tid = ownTid();
        Window.spin(WINDOW_NANOS * 5, new long[3]); // compiled before the first window counts
        List<Window> windows = new ArrayList<>();
        // U S U S ... U: each sampled window has an unsampled one on either side.
        while (windows.size() < 2 * PAIRS + 1 && System.nanoTime() - start < GIVE_UP_NANOS) {
            boolean sampled = windows.size() % 2 == 1;
            if (sampled) {
                events.open(tid);
            }
            long before = events.samples();
            Window w = Window.measure();
            if (sampled) {
                events.stop();
            }
            w.samples = events.samples() - before;
            windows.add(w);
        }
        long took = System.nanoTime() - start;
        double[] costs = new double[windows.size() / 2];
        int n = 0;
        int unsampled = 0;
        for (int i = 1; i + 1 < windows.size(); i += 2) {
            Window s = windows.get(i);
            Window a = windows.get(i - 1);
            Window b = windows.get(i + 1);
            if (s.samples == 0) {
                unsampled++;
                continue;
            }
            if (s.runNanos < MIN_RUN_NANOS || a.runNanos < MIN_RUN_NANOS || b.runNanos < MIN_RUN_NANOS) {
                continue;
            }
            double rate = (a.iterations + b.iterations) / (double) (a.runNanos + b.runNanos);
            double lost = s.runNanos - s.iterations / rate;
            costs[n++] = lost / s.samples;
        }
        if (windows.size() >= 3 && unsampled == windows.size() / 2) {
            return new Result(null, "not calibrated: the events took no sample of the calibration's thread");
        }
        if (n < MIN_PAIRS) {
            return new Result(null, String.format(java.util.Locale.ROOT,
                    "not calibrated: %d usable window pairs of %d in %d ms (%s)",
                    n, windows.size() / 2, took / 1_000_000, STARVED));
        }
        double[] c = Arrays.copyOf(costs, n);
        Arrays.sort(c);
        return new Result(new Estimate(quantile(c, 0.5), quantile(c, 0.25), quantile(c, 0.75), n, took), null);
    }

    static double quantile(double[] sorted, double q) {
        double at = q * (sorted.length - 1);
        int lo = (int) Math.floor(at);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }

    /** This thread's TID, from the {@code /proc/thread-self} link ({@code PID/task/TID}). */
    static int ownTid() throws IOException {
        String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
        return Integer.parseInt(link.substring(link.lastIndexOf('/') + 1));
    }

    /** One window of spinning: its progress, its time on a CPU, and the samples taken in it. */
    private static final class Window {
        long iterations;
        long runNanos;
        long samples;

        static Window measure() throws IOException {
            Path schedstat = Path.of("/proc/thread-self/schedstat");
            long delayBefore = runDelay(schedstat);
            long[] r = new long[3];
            spin(WINDOW_NANOS, r);
            long delayAfter = runDelay(schedstat);
            Window w = new Window();
            w.iterations = r[0];
            w.runNanos = r[2] - r[1] - (delayAfter - delayBefore);
            return w;
        }

        /** Spins {@code nanos} of wall time: r = {iterations, start, end}. */
        static void spin(long nanos, long[] r) {
            long x = r[0] | 1;
            long iterations = 0;
            long start = System.nanoTime();
            long end;
            do {
                for (int i = 0; i < 256; i++) {
                    x = x * 6364136223846793005L + 1442695040888963407L; // an LCG: work the JIT cannot fold
                }
                iterations += 256;
                end = System.nanoTime();
            } while (end - start < nanos);
            sink ^= x;
            r[0] = iterations;
            r[1] = start;
            r[2] = end;
        }

        private static long runDelay(Path schedstat) throws IOException {
            String[] f = Files.readString(schedstat).trim().split(" ");
            return Long.parseLong(f[1]);
        }
    }

    @SuppressWarnings("unused")
    private static volatile long sink;
}
