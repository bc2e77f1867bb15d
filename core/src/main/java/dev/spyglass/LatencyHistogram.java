package dev.spyglass;

import java.util.ArrayList;
import java.util.List;

/**
 * Call durations in log-scaled buckets: each power of two of nanoseconds is cut into {@value #SUB_BUCKETS} equal
 * buckets, so a bucket is at most 1/64 (1.6%) of its lower bound wide, and a percentile (the middle of the bucket
 * holding that rank, clamped to the smallest and largest duration seen) is within 0.8% of the exact one.
 * Fixed size (32 KiB of counts), whatever the number of calls. Not thread-safe.
 */
public final class LatencyHistogram {
    /** Buckets per power of two. */
    public static final int SUB_BUCKETS = 64;
    private static final int SHIFT = 6;

    /**
     * One bucket: calls that lasted at least {@code lowNanos} and less than {@code highNanos}.
     *
     * @param lowNanos  inclusive lower bound
     * @param highNanos exclusive upper bound
     * @param count     calls in it
     */
    public record Bucket(long lowNanos, long highNanos, long count) {
    }

    private final long[] counts = new long[64 * SUB_BUCKETS];
    private long count;
    private long min = Long.MAX_VALUE;
    private long max;
    private long sum;

    /** Adds one call of {@code nanos} (negative values are ignored). */
    public void record(long nanos) {
        if (nanos < 0) {
            return;
        }
        counts[index(nanos)]++;
        count++;
        sum += nanos;
        min = Math.min(min, nanos);
        max = Math.max(max, nanos);
    }

    /** Adds every call of {@code other}. */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
        count += other.count;
        sum += other.sum;
        min = Math.min(min, other.min);
        max = Math.max(max, other.max);
    }

    static int index(long nanos) {
        if (nanos < SUB_BUCKETS) {
            return (int) nanos; // below 64 ns: one bucket per nanosecond
        }
        int e = 63 - Long.numberOfLeadingZeros(nanos);
        int sub = (int) ((nanos >>> (e - SHIFT)) & (SUB_BUCKETS - 1));
        return (e - SHIFT + 1) * SUB_BUCKETS + sub;
    }

    static long low(int index) {
        if (index < SUB_BUCKETS) {
            return index;
        }
        int e = index / SUB_BUCKETS + SHIFT - 1;
        long sub = index % SUB_BUCKETS;
        return (1L << e) + (sub << (e - SHIFT));
    }

    static long high(int index) {
        if (index < SUB_BUCKETS) {
            return index + 1;
        }
        int e = index / SUB_BUCKETS + SHIFT - 1;
        return low(index) + (1L << (e - SHIFT));
    }

    /** Calls recorded. */
    public long count() {
        return count;
    }

    /** The longest call, 0 when none. */
    public long maxNanos() {
        return max;
    }

    /** The shortest call, 0 when none. */
    public long minNanos() {
        return count == 0 ? 0 : min;
    }

    /** The mean duration, 0 when none. */
    public double meanNanos() {
        return count == 0 ? 0 : (double) sum / count;
    }

    /**
     * The duration below which a share {@code p} of the calls lie ({@code 0.5}: the median), within the width of its
     * bucket; 0 when no call was recorded.
     */
    public long percentileNanos(double p) {
        if (count == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(p * count));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                long mid = (low(i) + high(i)) / 2;
                return Math.max(min, Math.min(max, mid));
            }
        }
        return max;
    }

    /** The buckets holding at least one call, shortest first. */
    public List<Bucket> buckets() {
        List<Bucket> out = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] != 0) {
                out.add(new Bucket(low(i), high(i), counts[i]));
            }
        }
        return out;
    }
}
