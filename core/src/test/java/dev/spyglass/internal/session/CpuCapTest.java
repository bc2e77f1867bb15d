package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The leaky bucket of {@link CpuCap}, on a clock the test moves (the real clock: CpuLimitTest). */
class CpuCapTest {
    private static final long MS = 1_000_000L;

    private final AtomicLong cpu = new AtomicLong(5_000 * MS); // the JVM's CPU before the session

    @Test
    void aProcessWithinItsLimitNeverWaits() {
        CpuCap cap = new CpuCap(cpu::get, 1.0, 0);
        for (long t = 1; t <= 100; t++) {
            cpu.addAndGet(MS * 9 / 10); // 0.9 of a core
            assertThat(cap.pauseAfter(t * MS)).isZero();
        }
        assertThat(cap.pauses()).isZero();
    }

    @Test
    void noClockReadBeforeACheckIsDue() {
        AtomicLong reads = new AtomicLong();
        CpuCap cap = new CpuCap(() -> {
            reads.incrementAndGet();
            return cpu.get();
        }, 1.0, 0);
        for (long t = 1; t < CpuCap.CHECK_NANOS / 10_000; t++) {
            cap.pauseAfter(t * 10_000); // a look every 10 µs
        }
        assertThat(reads.get()).as("the read at start only").isEqualTo(1);
    }

    @Test
    void usingMoreThanTheLimitWaitsItBackAndTheWaitIsCreditedOnce() {
        CpuCap cap = new CpuCap(cpu::get, 1.0, 0);
        // 10 ms of wall in which the process used 12 ms: 2 ms over one core, paid by waiting 2 ms.
        cpu.addAndGet(12 * MS);
        assertThat(cap.pauseAfter(10 * MS)).isEqualTo(2 * MS);
        // No CPU during the wait, then 10 ms at exactly one core: back within, no wait.
        cpu.addAndGet(10 * MS);
        assertThat(cap.pauseAfter(22 * MS)).as("the wait counts as allowance once").isZero();
        // CPU the other threads used while the sampling thread waited counts too: 0.1 ms more, 0.1 ms of wait.
        cpu.addAndGet(MS / 10 + 10 * MS);
        assertThat(cap.pauseAfter(32 * MS)).isEqualTo(MS / 10);
        assertThat(cap.pausedNanos()).isEqualTo(2 * MS + MS / 10);
        assertThat(cap.pauses()).isEqualTo(2);
    }

    @Test
    void aHalfCoreLimitWaitsTwiceAsLongForTheSameExcess() {
        CpuCap cap = new CpuCap(cpu::get, 0.5, 0);
        cpu.addAndGet(10 * MS); // one core for 10 ms: 5 ms over half a core
        assertThat(cap.pauseAfter(10 * MS)).isEqualTo(10 * MS);
    }

    @Test
    void anIdleStretchDoesNotBuyALaterBurst() {
        CpuCap cap = new CpuCap(cpu::get, 1.0, 0);
        assertThat(cap.pauseAfter(1_000 * MS)).isZero(); // a second with no CPU at all
        cpu.addAndGet(30 * MS); // then 30 ms of CPU in 10 ms of wall (three cores' worth)
        // Allowance kept: one check's worth (10 ms) + 10 ms of this window: 10 ms over.
        assertThat(cap.pauseAfter(1_010 * MS)).isEqualTo(10 * MS);
    }

    @Test
    void aClockThatFailsIsNoLimit() {
        CpuCap cap = new CpuCap(() -> -1, 1.0, 0);
        assertThat(cap.pauseAfter(50 * MS)).isZero();
    }

    @Test
    void noCapAtZeroCores() {
        assertThat(CpuCap.start(0, System.nanoTime())).isNull();
    }
}
