package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The tick accounting behind a session's DEBUG line: buckets, the first second, gaps and the ticks skipped. */
class TickLatenessTest {
    private static final long US = 1_000;
    private static final long INTERVAL = 100 * US;

    @Test
    void bucketsAreLog2OfMicroseconds() {
        assertThat(TickLateness.bucket(-5)).as("early (cannot happen, but never a negative index)").isZero();
        assertThat(TickLateness.bucket(999)).isZero();
        assertThat(TickLateness.bucket(US)).isEqualTo(1);
        assertThat(TickLateness.bucket(2 * US - 1)).isEqualTo(1);
        assertThat(TickLateness.bucket(2 * US)).isEqualTo(2);
        assertThat(TickLateness.bucket(24 * US)).as("16 - 31 µs").isEqualTo(5);
        assertThat(TickLateness.bucket(100 * US)).as("64 - 127 µs").isEqualTo(7);
        assertThat(TickLateness.bucket(Long.MAX_VALUE)).isEqualTo(TickLateness.BUCKETS - 1);
    }

    @Test
    void countsLatenessLookTimeAndTheFirstSecond() {
        long start = 1_000_000_000L;
        TickLateness t = new TickLateness(start, INTERVAL);
        t.tick(start, start + 20 * US, start + 35 * US); // woke 20 µs late, looked for 15 µs
        t.tick(start + INTERVAL, start + INTERVAL + 500, start + INTERVAL + 10 * US);
        long later = start + 1_500_000_000L;
        t.tick(later, later + 3 * US, later + 300 * US);

        assertThat(t.ticks()).isEqualTo(3);
        assertThat(t.firstSecondTicks()).isEqualTo(2);
        assertThat(t.late(5)).isEqualTo(1);
        assertThat(t.late(0)).isEqualTo(1);
        assertThat(t.late(2)).isEqualTo(1);
        assertThat(t.work(4)).as("15 µs and 9.5 µs: 8 - 15 µs").isEqualTo(2);
        assertThat(t.work(9)).as("297 µs: 256 - 511 µs").isEqualTo(1);
    }

    @Test
    void aGapCountsTheTicksItSkipped() {
        TickLateness t = new TickLateness(0, INTERVAL);
        t.gap(1_000 * US, 1_000 * US + 3_450 * US); // 3.45 ms without running: 34 ticks given up
        t.gap(9_000 * US, 9_000 * US + 150 * US);
        assertThat(t.gaps()).isEqualTo(2);
        assertThat(t.skipped()).isEqualTo(35);
        assertThat(t.longestGapNanos()).isEqualTo(3_450 * US);
    }

    @Test
    void summaryNamesEveryNonEmptyBucket() {
        TickLateness t = new TickLateness(0, INTERVAL);
        t.tick(0, 20 * US, 35 * US);
        t.tick(INTERVAL, INTERVAL + 40_000 * US, INTERVAL + 40_010 * US);
        t.gap(2 * INTERVAL, 2 * INTERVAL + 40_000 * US);
        assertThat(t.summary()).isEqualTo("2 ticks (2 in the first second); 1 gaps of more than one interval, "
                + "400 ticks skipped in them, longest 40000 µs; woke late by <32 µs: 1, >=16384 µs: 1; "
                + "look took <16 µs: 2");
    }
}
