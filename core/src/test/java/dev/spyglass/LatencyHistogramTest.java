package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** {@link LatencyHistogram}: percentiles within a bucket's width of the exact ones, buckets that tile the range. */
class LatencyHistogramTest {
    @Test
    void percentilesAreWithinOnePercentOfTheExactOnes() {
        LatencyHistogram h = new LatencyHistogram();
        long[] values = new long[100_000];
        Random r = new Random(42);
        for (int i = 0; i < values.length; i++) {
            values[i] = (long) Math.exp(r.nextDouble() * 20); // 1 ns .. 0.5 s, log-uniform
            h.record(values[i]);
        }
        java.util.Arrays.sort(values);
        for (double p : new double[] {0.5, 0.9, 0.99}) {
            long exact = values[(int) Math.ceil(p * values.length) - 1];
            assertThat((double) h.percentileNanos(p)).as("p%.0f", p * 100).isCloseTo(exact, within(exact * 0.01 + 1));
        }
        assertThat(h.count()).isEqualTo(values.length);
        assertThat(h.maxNanos()).isEqualTo(values[values.length - 1]);
        List<LatencyHistogram.Bucket> b = h.buckets();
        assertThat(b.stream().mapToLong(LatencyHistogram.Bucket::count).sum()).isEqualTo(values.length);
        for (LatencyHistogram.Bucket x : b) {
            assertThat(x.highNanos()).isGreaterThan(x.lowNanos());
            assertThat(x.highNanos() - x.lowNanos()).isLessThanOrEqualTo(Math.max(1, x.lowNanos() / 64));
        }
    }

    @Test
    void everyDurationFallsInTheBucketThatHoldsIt() {
        for (long v : new long[] {0, 1, 63, 64, 65, 127, 128, 2_000_000, 2_097_151, Long.MAX_VALUE}) {
            LatencyHistogram h = new LatencyHistogram();
            h.record(v);
            LatencyHistogram.Bucket b = h.buckets().get(0);
            assertThat(v).as("%d in [%d, %d)", v, b.lowNanos(), b.highNanos()).isGreaterThanOrEqualTo(b.lowNanos());
            assertThat(v - b.lowNanos()).isLessThan(b.highNanos() - b.lowNanos());
            assertThat(h.percentileNanos(0.5)).isEqualTo(v);
        }
        assertThat(new LatencyHistogram().percentileNanos(0.5)).isZero();
    }
}
