package dev.spyglass.internal.session;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** How the sampling thread waits for its next tick's deadline. */
public final class TickPacing {

    private TickPacing() {
    }

    /**
     * How long before a deadline to stop parking and spin. parkNanos overshoots by tens of µs (timer slack):
     * park until shortly before the deadline and spin the rest, for intervals short enough that the overshoot
     * matters. At 200 µs and below the overshoot is a quarter of the interval or more: spin all the way.
     */
    public static long spinNanos(long intervalNanos) {
        return intervalNanos <= 200_000L ? intervalNanos
                : intervalNanos < 20_000_000L ? Math.min(80_000L, intervalNanos / 4) : 0;
    }

    /** Waits until {@code deadline} ({@link System#nanoTime()}), parking then spinning; returns early when stopped. */
    public static void waitUntil(long deadline, long spin, BooleanSupplier stopped) {
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
