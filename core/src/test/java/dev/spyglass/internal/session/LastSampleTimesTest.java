package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LastSampleTimesTest {

    @Test
    void aThreadIsKnownAfterTheLookThatSawItAndForgottenAfterALookWithoutIt() {
        LastSampleTimes times = new LastSampleTimes();
        assertThat(times.previous(42)).isEqualTo(LastSampleTimes.UNKNOWN);
        times.seen(42, 1_000);
        times.seen(43, 2_000);
        times.endLook();
        assertThat(times.previous(42)).isEqualTo(1_000);
        assertThat(times.previous(43)).isEqualTo(2_000);
        times.seen(42, 3_000);
        times.endLook();
        assertThat(times.previous(42)).isEqualTo(3_000);
        assertThat(times.previous(43)).as("not seen in the last look").isEqualTo(LastSampleTimes.UNKNOWN);
    }

    @Test
    void manyThreadsGrowTheTablesAndKeepTheirTimes() {
        LastSampleTimes times = new LastSampleTimes();
        for (int look = 0; look < 3; look++) {
            for (long tid = 1; tid <= 1000; tid++) {
                long previous = times.previous(tid);
                assertThat(previous).isEqualTo(look == 0 ? LastSampleTimes.UNKNOWN : tid * 10 + look - 1);
                times.seen(tid, tid * 10 + look);
            }
            times.endLook();
        }
        times.endLook();
        assertThat(times.previous(500)).isEqualTo(LastSampleTimes.UNKNOWN);
    }
}
