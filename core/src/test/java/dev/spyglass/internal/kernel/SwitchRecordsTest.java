package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.SpyglassException;

/**
 * The switch records against a thread of this JVM that sleeps and wakes at known moments: each wake is a switch
 * in of its TID, each sleep a switch out with a sleeping state, in time order, and a thread that stays asleep has
 * no record.
 */
class SwitchRecordsTest {
    private static SwitchRecords openOrSkip() {
        try {
            return SwitchRecords.open(64);
        } catch (SpyglassException e) {
            Assumptions.abort("no sched_switch records here: " + e.getMessage());
            return null;
        }
    }

    @Test
    void aThreadThatSleepsAndWakesIsSwitchedInOncePerWake() throws Exception {
        try (SwitchRecords s = openOrSkip()) {
            AtomicInteger tid = new AtomicInteger();
            Object lock = new Object();
            int wakes = 20;
            AtomicInteger woken = new AtomicInteger();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    tid.set(Integer.parseInt(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString()));
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
                for (int i = 0; i < wakes; i++) {
                    LockSupport.park(lock);
                    woken.incrementAndGet();
                }
                LockSupport.park(lock); // and stays asleep
            });
            while (tid.get() == 0 || t.getState() != Thread.State.WAITING) {
                Thread.sleep(1);
            }
            long[] ins = new long[1];
            long[] sleeps = new long[1];
            long[] lastIn = {Long.MIN_VALUE};
            long[] lastOut = {Long.MIN_VALUE};
            SwitchRecords.Visitor v = (prev, sleeping, exited, next, time) -> {
                if (next == tid.get()) {
                    ins[0]++;
                    lastIn[0] = Math.max(lastIn[0], time);
                }
                if (prev == tid.get()) {
                    sleeps[0] += sleeping ? 1 : 0;
                    lastOut[0] = Math.max(lastOut[0], time);
                }
            };
            boolean complete = s.drain(v);
            ins[0] = 0;
            sleeps[0] = 0;
            for (int i = 0; i < wakes; i++) {
                int before = woken.get();
                LockSupport.unpark(t);
                while (woken.get() == before || t.getState() != Thread.State.WAITING) {
                    Thread.onSpinWait();
                }
                // Back asleep (WAITING seen after its wake): switched in at least once for the wake, out last.
                long insBefore = ins[0];
                complete &= s.drain(v);
                for (int k = 0; k < 1000 && (ins[0] == insBefore || lastOut[0] <= lastIn[0]); k++) {
                    Thread.sleep(1);
                    complete &= s.drain(v);
                }
                assertThat(lastOut[0]).as("wake %d: switched out after its switch in", i).isGreaterThan(lastIn[0]);
            }
            Assumptions.assumeTrue(complete, "records lost on this loaded machine: " + s.lost());
            assertThat(ins[0]).as("switch-ins of thread %d woken %d times (%d sleeps, %d records, last in %d, out %d)", tid.get(), wakes,
                    sleeps[0], s.records(), lastIn[0], lastOut[0]).isGreaterThanOrEqualTo(wakes);
            assertThat(sleeps[0]).as("switch-outs to sleep").isGreaterThanOrEqualTo(wakes);
            long insAsleep = ins[0];
            Thread.sleep(20);
            Assumptions.assumeTrue(s.drain(v), "records lost on this loaded machine: " + s.lost());
            assertThat(ins[0]).as("switch-ins of a thread left asleep").isEqualTo(insAsleep);
            assertThat(s.records()).isPositive();
            LockSupport.unpark(t);
            t.interrupt();
        }
    }

    /**
     * A ring filled between two drains drops switches, and the kernel writes their lost record only once the drain
     * has given the space back: the drain that finds the ring full must not call itself complete (a complete drain
     * proves threads idle). Two threads of this JVM hand a turn to each other a few thousand times into a one-page
     * ring (~40 records).
     */
    @Test
    void aRingFoundFullIsNotACompleteDrain() throws Exception {
        SwitchRecords s;
        try {
            s = SwitchRecords.open(1);
        } catch (SpyglassException e) {
            Assumptions.abort("no sched_switch records here: " + e.getMessage());
            return;
        }
        try (s) {
            Assumptions.assumeTrue(s.cpus() <= 64, "one ring per CPU: " + s.cpus() + " CPUs");
            s.drain((prev, sleeping, exited, next, time) -> {
            });
            java.util.concurrent.SynchronousQueue<Integer> turn = new java.util.concurrent.SynchronousQueue<>();
            int handovers = 5_000;
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < handovers; i++) {
                        turn.take();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            for (int i = 0; i < handovers; i++) {
                turn.put(i);
            }
            other.join();
            long[] seen = new long[1];
            boolean complete = s.drain((prev, sleeping, exited, next, time) -> seen[0]++);
            assertThat(complete).as("drain after %d hand-overs into one page per CPU (%d switches read, %d full)",
                    handovers, seen[0], s.fullDrains()).isFalse();
            assertThat(s.fullDrains()).isPositive();
            // Given the space back, the kernel now has room for its lost record, and the next drain shows it.
            Thread.sleep(50);
            s.drain((prev, sleeping, exited, next, time) -> {
            });
            assertThat(s.lost()).as("lost records after the full ring was given back").isPositive();
        }
    }

    @Test
    void readsTheFieldOffsetsFromTheFormat() {
        SwitchRecords.TracepointFormat f = SwitchRecords.TracepointFormat.parse(372, List.of(
                "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;",
                "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;",
                "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;",
                "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;",
                "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;"));
        assertThat(f).isEqualTo(new SwitchRecords.TracepointFormat(372, 24, 32, 56));
        assertThat(SwitchRecords.cpus("0-2,5")).containsExactly(0, 1, 2, 5);
    }
}
