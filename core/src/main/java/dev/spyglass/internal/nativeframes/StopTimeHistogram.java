package dev.spyglass.internal.nativeframes;

/**
 * How long threads were held stopped, as a histogram with bounded memory: exact to the microsecond
 * up to 1 ms, then 64 steps per power of two (under 1.6% error), up to an hour. Recorded by the
 * sampling thread, read by any thread ({@link #percentileNanos}), so its methods synchronise: they are
 * never contended in practice.
 */
public final class StopTimeHistogram {
    private static final int EXACT = 1024;
    private static final int SUB_BITS = 6;
    private static final int MAX_EXPONENT = 42;
    private final long[] counts = new long[EXACT + (MAX_EXPONENT - 10 + 1) * (1 << SUB_BITS)];
    private long total;
    private long maxNanos;

    /** Records one stop of {@code nanos} (negative counts as 0). */
    public synchronized void record(long nanos) {
        long v = Math.max(0, nanos);
        counts[index(v / 1000)]++;
        total++;
        maxNanos = Math.max(maxNanos, v);
    }

    static int index(long micros) {
        if (micros < EXACT) {
            return (int) micros;
        }
        int e = Math.min(63 - Long.numberOfLeadingZeros(micros), MAX_EXPONENT);
        int sub = (int) ((micros >>> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1));
        return EXACT + (e - 10) * (1 << SUB_BITS) + sub;
    }

    /** The smallest value (µs) a bucket holds. */
    static long lowestMicros(int index) {
        if (index < EXACT) {
            return index;
        }
        int e = 10 + (index - EXACT) / (1 << SUB_BITS);
        int sub = (index - EXACT) % (1 << SUB_BITS);
        return (1L << e) + ((long) sub << (e - SUB_BITS));
    }

    public synchronized long count() {
        return total;
    }

    public synchronized long maxNanos() {
        return maxNanos;
    }

    /**
     * The stop time below which {@code fraction} (0 to 1) of the stops were, in nanoseconds, at
     * microsecond resolution (never above the maximum seen); 0 before the first stop.
     */
    public synchronized long percentileNanos(double fraction) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(fraction * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.min(lowestMicros(i) * 1000, maxNanos);
            }
        }
        return maxNanos;
    }
}
