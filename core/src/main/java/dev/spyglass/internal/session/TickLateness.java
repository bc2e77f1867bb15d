package dev.spyglass.internal.session;

/**
 * Where a session's planned ticks went, for the DEBUG line a session logs when it ends (issue 16: at 10 kHz, is a
 * tick lost to late wake-ups, to slow looks, to the first second's interpreted code and compiling, or to gaps
 * where the sampling thread did not run at all?). Records, per tick taken, how late it woke (log2 buckets of µs)
 * and how long its look took, and per gap of more than one interval the ticks the loop skipped. Allocation-free
 * and used by the sampling thread only: a few array increments per tick.
 */
public final class TickLateness {
    /** Bucket 0: under 1 µs; bucket i: [2^(i-1), 2^i) µs; the last one also holds everything longer. */
    static final int BUCKETS = 16;
    private static final long FIRST_SECOND_NANOS = 1_000_000_000L;

    private final long start;
    private final long intervalNanos;
    private final long[] late = new long[BUCKETS];
    private final long[] work = new long[BUCKETS];
    private long ticks;
    private long firstSecondTicks;
    private long gaps;
    private long skipped;
    private long longestGapNanos;

    /** For ticks planned {@code intervalNanos} apart from {@code start} ({@link System#nanoTime()}). */
    public TickLateness(long start, long intervalNanos) {
        this.start = start;
        this.intervalNanos = intervalNanos;
    }

    /** The bucket of a duration: 0 below 1 µs, else 1 + floor(log2(µs)), at most the last. */
    static int bucket(long nanos) {
        long micros = Math.max(0, nanos) / 1000;
        return Math.min(BUCKETS - 1, 64 - Long.numberOfLeadingZeros(micros));
    }

    /** A tick planned for {@code deadline}, woken at {@code now}, whose look ended at {@code after}. */
    public void tick(long deadline, long now, long after) {
        late[bucket(now - deadline)]++;
        work[bucket(after - now)]++;
        ticks++;
        if (now - start < FIRST_SECOND_NANOS) {
            firstSecondTicks++;
        }
    }

    /**
     * The loop gave up the ticks planned from {@code next} up to {@code after}: more than one interval late, it
     * restarts its schedule at {@code after} rather than running the missed ticks back to back.
     */
    public void gap(long next, long after) {
        long gap = after - next;
        gaps++;
        skipped += gap / intervalNanos;
        longestGapNanos = Math.max(longestGapNanos, gap);
    }

    long ticks() {
        return ticks;
    }

    long firstSecondTicks() {
        return firstSecondTicks;
    }

    long gaps() {
        return gaps;
    }

    long skipped() {
        return skipped;
    }

    long longestGapNanos() {
        return longestGapNanos;
    }

    long late(int bucket) {
        return late[bucket];
    }

    long work(int bucket) {
        return work[bucket];
    }

    /**
     * One line: ticks taken (in the first second), the gaps and the ticks skipped in them, and the lateness and
     * look-time distributions as "upper bound in µs: count" pairs of the non-empty buckets.
     */
    public String summary() {
        StringBuilder s = new StringBuilder(256);
        s.append(ticks).append(" ticks (").append(firstSecondTicks).append(" in the first second); ")
                .append(gaps).append(" gaps of more than one interval, ").append(skipped)
                .append(" ticks skipped in them, longest ").append(longestGapNanos / 1000).append(" µs; woke late by");
        histogram(s, late);
        s.append("; look took");
        histogram(s, work);
        return s.toString();
    }

    private static void histogram(StringBuilder s, long[] counts) {
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] > 0) {
                s.append(i == BUCKETS - 1 ? " >=" + (1L << (i - 1)) : " <" + (1L << i)).append(" µs: ")
                        .append(counts[i]).append(',');
            }
        }
        if (s.charAt(s.length() - 1) == ',') {
            s.setLength(s.length() - 1);
        }
    }
}
