package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;

import dev.spyglass.internal.os.TimerSlack;

/** The sampling thread's waits: slack set on its own thread, never a return before the deadline, stop honoured. */
class TickPacingTest {

    @Test
    void setsTheTimerSlackOfTheThreadThatMadeItOnly() throws Exception {
        assumeTrue(TimerSlack.available(), "prctl is not linked on this platform");
        AtomicReference<Optional<Long>> slackThere = new AtomicReference<>();
        AtomicBoolean precise = new AtomicBoolean();
        Thread pacer = new Thread(() -> {
            precise.set(TickPacing.forCurrentThread(100_000, () -> false).precise());
            slackThere.set(TimerSlack.current());
        });
        pacer.start();
        pacer.join(20_000);
        assertThat(precise).as("slack set, so no spinning").isTrue();
        assertThat(slackThere.get()).contains(TickPacing.SLACK_NANOS);
        assertThat(TimerSlack.current()).as("the slack is per thread: the test's thread keeps its own")
                .isNotEqualTo(Optional.of(TickPacing.SLACK_NANOS));
    }

    @Test
    void aPreciseWaitDoesNotSpin() throws Exception {
        assumeTrue(TimerSlack.available(), "prctl is not linked on this platform");
        TickPacing pacing = CompletableFuture.supplyAsync(() -> TickPacing.forCurrentThread(100_000, () -> false))
                .get(20, TimeUnit.SECONDS);
        assertThat(pacing.spin()).isZero();
        assertThat(TickPacing.spinning(100_000, () -> false).spin()).as("the fallback spins at 10 kHz")
                .isEqualTo(100_000);
    }

    @Test
    void waitUntilNeverReturnsBeforeTheDeadlineEvenWhenUnparked() throws Exception {
        AtomicBoolean early = new AtomicBoolean();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread pacer = new Thread(() -> {
            TickPacing precise = TickPacing.forCurrentThread(100_000, () -> false);
            TickPacing spinning = TickPacing.spinning(100_000, () -> false);
            for (long interval : new long[] {0, 10_000, 100_000, 1_000_000, 5_000_000}) {
                for (TickPacing pacing : new TickPacing[] {precise, spinning}) {
                    for (int i = 0; i < (interval >= 1_000_000 ? 5 : 100); i++) {
                        long deadline = System.nanoTime() + interval;
                        pacing.waitUntil(deadline);
                        if (System.nanoTime() - deadline < 0) {
                            early.set(true);
                        }
                    }
                }
            }
            running.set(false);
        });
        pacer.start();
        // Spurious-looking wake-ups: an unpark without a stop must not end a wait.
        while (running.get() && pacer.isAlive()) {
            LockSupport.unpark(pacer);
            LockSupport.parkNanos(300_000);
        }
        pacer.join(20_000);
        assertThat(pacer.isAlive()).isFalse();
        assertThat(early).as("a wait returned before its deadline").isFalse();
    }

    @Test
    void aStopEndsAWaitForAFarDeadline() throws Exception {
        AtomicBoolean stopped = new AtomicBoolean();
        AtomicBoolean waited = new AtomicBoolean();
        Thread pacer = new Thread(() -> {
            TickPacing pacing = TickPacing.forCurrentThread(3_600_000_000_000L, stopped::get);
            pacing.waitUntil(System.nanoTime() + 3_600_000_000_000L);
            waited.set(true);
        });
        pacer.start();
        stopped.set(true);
        LockSupport.unpark(pacer); // as SamplingSession.stop() does
        pacer.join(20_000);
        assertThat(pacer.isAlive()).as("still waiting for a deadline an hour away after a stop").isFalse();
        assertThat(waited).isTrue();
    }
}
