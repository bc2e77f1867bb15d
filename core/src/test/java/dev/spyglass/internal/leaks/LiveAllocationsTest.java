package dev.spyglass.internal.leaks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The live table's bookkeeping and the suspect ranking, on event sequences written out by hand. */
class LiveAllocationsTest {

    @Test
    void aSteadyGrowerRanksFirstAndAChurnerIsNoSuspect() {
        LiveAllocations t = new LiveAllocations(1000);
        long address = 0x1000;
        for (int tick = 0; tick < 20; tick++) {
            t.allocated(address += 64, 48, 0); // stack 0 keeps one block per tick
            for (int k = 0; k < 10; k++) { // stack 1 allocates and frees ten
                t.allocated(0x100000 + k * 64, 100, 1);
            }
            for (int k = 0; k < 10; k++) {
                t.freed(0x100000 + k * 64);
            }
            t.allocated(0x200000, 100, 1); // one block of stack 1 in flight at every snapshot
            t.snapshot(tick * 10_000_000L);
            t.freed(0x200000);
        }
        List<LiveAllocations.Ranked> r = t.rank();
        assertThat(r.get(0).stack()).isZero();
        assertThat(r.get(0).suspect()).isTrue();
        assertThat(r.get(0).survivingBytes()).isEqualTo(20 * 48);
        assertThat(r.get(0).growthBytesPerSecond()).isCloseTo(4800, org.assertj.core.data.Offset.offset(1.0));
        assertThat(r.stream().filter(x -> x.stack() == 1).allMatch(x -> !x.suspect())).isTrue();
    }

    @Test
    void theTableIsBoundedAndAReusedAddressReplacesItsBlock() {
        LiveAllocations t = new LiveAllocations(2);
        t.allocated(1, 10, 0);
        t.allocated(2, 10, 0);
        t.allocated(3, 10, 0);
        assertThat(t.dropped()).isEqualTo(1);
        assertThat(t.live()).isEqualTo(2);
        t.allocated(1, 30, 1); // the block at 1 went through a path not probed
        assertThat(t.replaced()).isEqualTo(1);
        assertThat(t.freed(99)).as("size of a block never seen").isEqualTo(-1);
        assertThat(t.unmatchedFrees()).isEqualTo(1);
        t.allocated(0, 10, 0); // a failed allocation
        assertThat(t.live()).isEqualTo(2);
        t.snapshot(0);
        List<LiveAllocations.Ranked> r = t.rank();
        assertThat(r).extracting(LiveAllocations.Ranked::survivingBytes).containsExactlyInAnyOrder(10L, 30L);
    }

    @Test
    void aReleaseGivesTheSizeItsBlockWasAllocatedWith() {
        LiveAllocations t = new LiveAllocations(10);
        t.allocated(0x40, 333, 0);
        assertThat(t.freed(0x40)).isEqualTo(333);
        assertThat(t.freed(0x40)).as("released twice").isEqualTo(-1);
        assertThat(t.live()).isZero();
    }

    @Test
    void theSeriesIsHalvedWhenFull() {
        LiveAllocations t = new LiveAllocations(10);
        for (int i = 0; i < 3 * LiveAllocations.SERIES; i++) {
            t.snapshot(i);
        }
        assertThat(t.times().length).isLessThanOrEqualTo(LiveAllocations.SERIES);
        assertThat(t.times()[1] - t.times()[0]).isGreaterThan(1);
    }
}
