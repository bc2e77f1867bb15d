package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/** The batch handoff between the sampling thread and the consumer (real threads; no target involved). */
class SampleHandoffTest {

    private static StackSample sample(long i) {
        return new StackSample(new ThreadStack(1, 2, 3, 4, "MainThread", 0, ThreadState.RUNNING, true,
                List.of(Frame.python("f", "f", "/f.py", 1, 1))), i, 1_000_000);
    }

    @Test
    void theConsumerGetsEverySampleInOrderThenNullOnceEnded() throws Exception {
        SampleHandoff h = new SampleHandoff(1024);
        CompletableFuture<List<Long>> consumed = CompletableFuture.supplyAsync(() -> {
            List<Long> seen = new ArrayList<>();
            try {
                StackSample s;
                while ((s = h.next()) != null) {
                    seen.add(s.timestampNanos());
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return seen;
        });
        for (long i = 0; i < 5000; i++) {
            while (!h.offer(sample(i))) {
                Thread.onSpinWait(); // full: the half-full wake has the consumer draining it
            }
        }
        h.end();
        List<Long> seen = consumed.get(30, TimeUnit.SECONDS);
        assertThat(seen).hasSize(5000);
        for (int i = 0; i < seen.size(); i++) {
            assertThat(seen.get(i)).isEqualTo(i);
        }
    }

    @Test
    void aFullQueueRefusesAndSamplesQueuedBeforeTheEndAreStillDelivered() throws Exception {
        SampleHandoff h = new SampleHandoff(2);
        assertThat(h.offer(sample(1))).isTrue();
        assertThat(h.offer(sample(2))).isTrue();
        assertThat(h.offer(sample(3))).as("full").isFalse();
        h.end();
        assertThat(h.next().timestampNanos()).isEqualTo(1);
        assertThat(h.next().timestampNanos()).isEqualTo(2);
        assertThat(h.next()).isNull();
    }

    @Test
    void anInterruptedConsumerStopsWaiting() {
        SampleHandoff h = new SampleHandoff(8);
        Thread.currentThread().interrupt();
        assertThatThrownBy(h::next).isInstanceOf(InterruptedException.class);
        assertThat(Thread.interrupted()).as("flag cleared, as BlockingQueue.poll does").isFalse();
    }
}
