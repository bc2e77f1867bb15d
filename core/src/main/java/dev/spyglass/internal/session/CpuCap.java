package dev.spyglass.internal.session;

import java.util.function.LongSupplier;

import dev.spyglass.internal.os.ProcessCpuClock;

/**
 * Holds this whole JVM process to at most a number of cores while a session samples ({@code Sampler.Builder#cpuLimit}).
 * Only a sampler asked to go faster than a look takes ever reaches the limit: at the shortest interval the sampling
 * thread looks back to back and fills a core by itself, and the consumer, the collector and the compilers then add
 * theirs on top (1.03 cores at 67,000 looks a second on a 2-core machine, 7 Dec 2026). A target on such a machine
 * then loses its core to the sampler's other threads.
 *
 * <p>A leaky bucket on the process's CPU clock: every {@link #CHECK_NANOS} of wall time the sampling thread adds the
 * CPU the process used since the last check and takes off what the limit allowed for that time; a positive
 * balance is paid back by waiting {@code balance / cores} before the next look (nothing else of the session's runs
 * meanwhile but the consumer, which then catches up). Unused allowance is kept for at most one check's worth, so
 * an idle stretch does not buy a later burst. Used from the sampling thread only.
 */
public final class CpuCap {
    /** How often the process's CPU is read: one system call every 10 ms, nothing at all at 10 ms ticks or slower. */
    static final long CHECK_NANOS = 10_000_000L;
    /** The longest single wait: a stop() still reaches a waiting thread at once, this bounds a clock gone wrong. */
    static final long MAX_PAUSE_NANOS = 100_000_000L;

    /** The process's CPU time in ns, -1 when it cannot be read. */
    private final LongSupplier clock;
    private final double cores;
    private long lastWall;
    private long lastCpu;
    private double balance;
    private long pausedNanos;
    private long pauses;

    CpuCap(LongSupplier clock, double cores, long now) {
        this.clock = clock;
        this.cores = cores;
        this.lastWall = now;
        this.lastCpu = clock.getAsLong();
    }

    /**
     * A cap of {@code cores} starting at {@code now} ({@link System#nanoTime()}), made on the sampling thread; null
     * when {@code cores} is 0 (no cap) or the process's CPU clock cannot be read (then the limit is not kept).
     */
    public static CpuCap start(double cores, long now) {
        if (cores <= 0) {
            return null;
        }
        ProcessCpuClock clock = ProcessCpuClock.open();
        return clock == null ? null : new CpuCap(clock::nanos, cores, now);
    }

    /**
     * After a look that ended at {@code now}: how long to wait before the next look so the process stays within
     * the limit, usually 0.
     */
    public long pauseAfter(long now) {
        long wall = now - lastWall;
        if (wall < CHECK_NANOS) {
            return 0;
        }
        long cpu = clock.getAsLong();
        if (cpu < 0) {
            return 0;
        }
        balance += (cpu - lastCpu) - cores * wall;
        lastWall = now;
        lastCpu = cpu;
        // Allowance left over is kept for one check only.
        balance = Math.max(balance, -cores * CHECK_NANOS);
        if (balance <= 0) {
            return 0;
        }
        // Waiting w adds cores * w of allowance at the next check (its wall time includes the wait).
        long pause = Math.min(MAX_PAUSE_NANOS, (long) (balance / cores));
        pausedNanos += pause;
        pauses++;
        return pause;
    }

    /** Wall time the sampling thread has waited to keep the limit. */
    public long pausedNanos() {
        return pausedNanos;
    }

    /** How many waits that took. */
    public long pauses() {
        return pauses;
    }
}
