package dev.spyglass.internal.session;

import java.util.function.BooleanSupplier;

/**
 * When the sampling thread looks next: every interval from the session's start, never past its duration's end, a
 * tick more than a whole interval late skipping the missed ones rather than bursting, and, with a CPU limit, the
 * pause that brings the process back within it ({@link CpuCap}). Keeps how late the ticks were ({@link
 * TickLateness}). Made on the sampling thread: the timer slack its {@link TickPacing} sets is that thread's own.
 */
public final class TickSchedule {
    private final long intervalNanos;
    private final long end;
    private final BooleanSupplier stopped;
    private final TickPacing pacing;
    private final TickLateness lateness;
    private final CpuCap cap;
    private long deadline;
    /** Summed lateness of the ticks taken, read by other threads for the session's counters. */
    private volatile long behindNanos;

    /**
     * @param durationNanos {@link Long#MAX_VALUE} for no end
     * @param cpuLimit      cores the process may use, 0 for no limit
     * @param stopped       true once the session is asked to stop
     */
    public TickSchedule(long start, long intervalNanos, long durationNanos, double cpuLimit, BooleanSupplier stopped) {
        this.intervalNanos = intervalNanos;
        this.end = durationNanos == Long.MAX_VALUE ? Long.MAX_VALUE : start + durationNanos;
        this.stopped = stopped;
        this.pacing = TickPacing.forCurrentThread(intervalNanos, stopped);
        this.lateness = new TickLateness(start, intervalNanos);
        this.cap = CpuCap.start(cpuLimit, start);
        this.deadline = start;
    }

    /** Waits for the next tick; its time ({@code System.nanoTime()}), or -1 once stopped or the duration is over. */
    public long awaitNext() {
        if (stopped.getAsBoolean()) {
            return -1;
        }
        // Never wait past the duration's end: "-i 20s -d 300ms" ends after 300 ms, not 20 s.
        pacing.waitUntil(end != Long.MAX_VALUE && end - deadline < 0 ? end : deadline);
        if (stopped.getAsBoolean()) {
            return -1;
        }
        long now = System.nanoTime();
        if (now - end >= 0) {
            return -1;
        }
        if (now > deadline) {
            behindNanos += now - deadline;
        }
        return now;
    }

    /** After the tick that {@link #awaitNext} gave at {@code now}: sets the next deadline. */
    public void tickDone(long now) {
        long next = deadline + intervalNanos;
        long after = System.nanoTime();
        lateness.tick(deadline, now, after);
        long pause = cap == null ? 0 : cap.pauseAfter(after);
        if (pause > 0) { // back within the CPU limit; the ticks meanwhile are skipped
            pacing.waitUntil(after + pause);
            after = System.nanoTime();
        }
        if (after - next > intervalNanos) {
            // More than a whole interval late: skip the missed ticks rather than bursting.
            lateness.gap(next, after);
            next = after;
        }
        deadline = next;
    }

    /** Summed lateness of the ticks taken so far. */
    public long behindNanos() {
        return behindNanos;
    }

    /** For a debug line: how late the ticks were, and the CPU limit's waits. */
    public String summary() {
        return lateness.summary() + "; CPU limit waits: "
                + (cap == null ? "none" : cap.pauses() + ", " + cap.pausedNanos() / 1000 + " µs");
    }
}
