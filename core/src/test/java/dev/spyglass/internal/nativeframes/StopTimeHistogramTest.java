package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StopTimeHistogramTest {

    @Test
    void percentilesAreExactToTheMicrosecondBelowOneMillisecond() {
        StopTimeHistogram h = new StopTimeHistogram();
        assertThat(h.percentileNanos(0.5)).as("empty").isZero();
        for (int us = 1; us <= 100; us++) {
            h.record(us * 1000L + 300);
        }
        assertThat(h.count()).isEqualTo(100);
        assertThat(h.percentileNanos(0.5)).isEqualTo(50_000);
        assertThat(h.percentileNanos(0.99)).isEqualTo(99_000);
        assertThat(h.maxNanos()).isEqualTo(100_300);
    }

    @Test
    void longStopsAreWithinTwoPercentAndNeverAboveTheMaximum() {
        StopTimeHistogram h = new StopTimeHistogram();
        h.record(-5);
        h.record(37_654_321L);
        h.record(3_600_000_000_000L); // an hour
        assertThat(h.percentileNanos(0.0)).isZero();
        assertThat(h.percentileNanos(0.6)).isBetween((long) (37_654_321L * 0.98), 37_654_321L);
        assertThat(h.percentileNanos(1.0)).isBetween((long) (3_600_000_000_000L * 0.98), 3_600_000_000_000L);
        for (int i = 0; i < 3000; i++) {
            long us = (long) i * i * 97;
            assertThat(StopTimeHistogram.lowestMicros(StopTimeHistogram.index(us))).as("bucket of %d", us)
                    .isLessThanOrEqualTo(us).isGreaterThanOrEqualTo((long) (us * 0.98));
        }
    }
}
