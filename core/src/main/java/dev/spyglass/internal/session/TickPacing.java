package dev.spyglass.internal.session;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import dev.spyglass.internal.os.TimerSlack;

/**
 * How the sampling thread waits for its next tick's deadline. Made by the sampling thread itself
 * ({@link #forCurrentThread}): it sets that thread's timer slack to 1 ns, after which a park to the deadline wakes
 * within a few µs of it (the JVM's park is a futex wait on CLOCK_MONOTONIC, which is {@link System#nanoTime()}'s
 * clock on Linux HotSpot) and nothing needs to spin between ticks. Where the slack cannot be set (no FFM downcall)
 * it parks then spins the last part of the interval, as before. A park is woken by {@link LockSupport#unpark},
 * which is how a stop reaches a waiting thread at once.
 */
public final class TickPacing {
    /** The timer slack asked for: the kernel's smallest, so wake-ups are not deferred to batch timers. */
    static final long SLACK_NANOS = 1;

    private final long spin;
    private final boolean precise;
    private final BooleanSupplier stopped;

    private TickPacing(long spin, boolean precise, BooleanSupplier stopped) {
        this.spin = spin;
        this.precise = precise;
        this.stopped = stopped;
    }

    /**
     * Links and first-calls the timer-slack downcall on the calling thread (a harmless read of its slack), so a cold
     * JVM's linking happens before a session starts, not in the first ticks' window of a short launched script.
     */
    public static void prepare() {
        TimerSlack.current();
    }

    /**
     * Pacing for ticks {@code intervalNanos} apart on the calling thread, which it also sets up (timer slack);
     * {@code stopped} is checked after every wake-up.
     */
    public static TickPacing forCurrentThread(long intervalNanos, BooleanSupplier stopped) {
        boolean precise = TimerSlack.set(SLACK_NANOS);
        return new TickPacing(precise ? 0 : spinNanos(intervalNanos), precise, stopped);
    }

    /** Today's fallback, whatever the thread's slack: park, then spin the last part of each interval. */
    static TickPacing spinning(long intervalNanos, BooleanSupplier stopped) {
        return new TickPacing(spinNanos(intervalNanos), false, stopped);
    }

    /** {@code true} when the thread's timer slack was set and waits park all the way, never spinning. */
    public boolean precise() {
        return precise;
    }

    /** How long before a deadline a wait stops parking and spins: 0 when {@link #precise()}. */
    public long spin() {
        return spin;
    }

    /**
     * How long before a deadline to stop parking and spin without a small timer slack. parkNanos overshoots by
     * tens of µs (the default slack of 50 µs): park until shortly before the deadline and spin the rest, for
     * intervals short enough that the overshoot matters. At 200 µs and below the overshoot is a quarter of the
     * interval or more: spin all the way.
     */
    public static long spinNanos(long intervalNanos) {
        return intervalNanos <= 200_000L ? intervalNanos
                : intervalNanos < 20_000_000L ? Math.min(80_000L, intervalNanos / 4) : 0;
    }

    /**
     * Waits until {@code deadline} ({@link System#nanoTime()}); returns early only when stopped. A park may end
     * early (spuriously, or on an unpark): it parks again for what is left.
     */
    public void waitUntil(long deadline) {
        long remaining = deadline - System.nanoTime();
        while (remaining > spin) {
            LockSupport.parkNanos(remaining - spin);
            if (stopped.getAsBoolean()) {
                return;
            }
            remaining = deadline - System.nanoTime();
        }
        while (System.nanoTime() - deadline < 0) {
            Thread.onSpinWait();
        }
    }
}
