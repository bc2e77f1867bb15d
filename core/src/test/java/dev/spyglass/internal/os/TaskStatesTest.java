package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class TaskStatesTest {

    private static TaskStates.RunState parse(String stat) {
        byte[] b = stat.getBytes(StandardCharsets.UTF_8);
        return StatLine.state(b, b.length);
    }

    @Test
    void readsTheStateAfterTheLastParenthesis() {
        assertThat(parse("123 (python3) R 1 2 3")).isEqualTo(TaskStates.RunState.RUNNING);
        assertThat(parse("123 (a) b) S 1 2 3")).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(parse("123 (x (R) y) D 1")).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(parse("123 (trunc")).isEqualTo(TaskStates.RunState.UNKNOWN);
    }

    @Test
    void seesThisThreadRunningAndKnowsItsName() {
        long pid = ProcessHandle.current().pid();
        try (TaskStates t = new TaskStates(pid)) {
            assertThat(t.relist()).isPositive();
            assertThat(t.exists(pid)).isTrue();
            assertThat(t.state(pid)).isIn(TaskStates.RunState.RUNNING, TaskStates.RunState.SLEEPING);
            assertThat(t.name(pid)).isNotBlank();
            assertThat(t.exists(Integer.MAX_VALUE)).isFalse();
        }
    }

    @Test
    void readsTheStartTimeFromField22() throws Exception {
        String line = "123 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 19 20";
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        assertThat(StatLine.startTime(b, b.length)).isEqualTo(987654);
        byte[] cut = "123 (x) S 1 2".getBytes(StandardCharsets.UTF_8);
        assertThat(StatLine.startTime(cut, cut.length)).isEqualTo(-1);
        // A thread started now, and one of this process: the same as the kernel's own line says.
        long pid = ProcessHandle.current().pid();
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
        long expected = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19]);
        try (TaskStates t = new TaskStates(pid)) {
            assertThat(t.startTime(pid)).isEqualTo(expected);
            assertThat(t.startTime(Integer.MAX_VALUE)).isEqualTo(-1);
        }
    }

    @Test
    void findsAThreadStartedAfterTheListingWithoutReListing() throws Exception {
        long pid = ProcessHandle.current().pid();
        try (TaskStates t = new TaskStates(pid)) {
            t.relist();
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
            long[] tid = new long[1];
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            Thread th = Thread.ofPlatform().start(() -> {
                try {
                    tid[0] = Long.parseLong(java.nio.file.Files.readSymbolicLink(
                            java.nio.file.Path.of("/proc/thread-self")).getFileName().toString());
                    started.countDown();
                    done.await();
                } catch (Exception e) {
                    started.countDown();
                }
            });
            started.await();
            // Within RELIST_NANOS of the listing above, the old code saw no such thread.
            assertThat(t.exists(tid[0])).isTrue();
            done.countDown();
            th.join();
        }
    }

    @Test
    void parsesNsPidOutermostFirst() {
        assertThat(NsPids.parse("NSpid:\t27908\t1")).containsExactly(27908, 1);
        assertThat(NsPids.parse("NSpid:\t42")).containsExactly(42);
    }

    @Test
    void aProcessInOurNamespaceNeedsNoTranslation() {
        long pid = ProcessHandle.current().pid();
        try (TaskStates t = new TaskStates(pid)) {
            assertThat(t.namespaced()).isFalse();
            assertThat(t.targetPid()).isEqualTo(pid);
            assertThat(t.hostTid(pid)).isEqualTo(pid);
        }
    }

    @Test
    void parsesTheThreeSchedstatCounters() {
        long[] v = new long[3];
        byte[] line = "1234567 890 12\n".getBytes(StandardCharsets.UTF_8);
        assertThat(TaskSchedstat.parse(line, line.length, v)).isTrue();
        assertThat(v).containsExactly(1234567, 890, 12);
        byte[] cut = "1234567 890".getBytes(StandardCharsets.UTF_8);
        assertThat(TaskSchedstat.parse(cut, cut.length, v)).isFalse();
    }

    /**
     * A parked thread is found not run since the look that saw it sleeping; once woken (it ran, and parked again)
     * the next look must not say so. Where the kernel keeps no counters, no look says so.
     */
    @Test
    void aSleepingThreadIsNotRunSinceUntilItRunsAgain() throws Exception {
        long pid = ProcessHandle.current().pid();
        java.nio.file.Path own = java.nio.file.Path.of("/proc/thread-self/schedstat");
        // Counters kept: the file is there and counts this thread's times on a CPU.
        boolean counters = java.nio.file.Files.exists(own)
                && Long.parseLong(java.nio.file.Files.readString(own).trim().split("\\s+")[2]) > 0;
        java.util.concurrent.atomic.AtomicLong tid = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.Semaphore ran = new java.util.concurrent.Semaphore(0);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread th = Thread.ofPlatform().start(() -> {
            try {
                tid.set(Long.parseLong(java.nio.file.Files.readSymbolicLink(
                        java.nio.file.Path.of("/proc/thread-self")).getFileName().toString()));
            } catch (Exception e) {
                tid.set(-1);
            }
            while (!stop.get()) {
                ran.release();
                java.util.concurrent.locks.LockSupport.park();
            }
        });
        try (TaskStates t = new TaskStates(pid)) {
            ran.acquire();
            assertThat(tid.get()).isPositive();
            long deadline = System.nanoTime() + 20_000_000_000L;
            boolean seen = false;
            // Parked (a spurious wake-up or the park still on its way in may take a few looks).
            while (!seen && System.nanoTime() < deadline) {
                t.lookState(tid.get());
                seen = t.notRunSinceLastLook(tid.get());
                Thread.sleep(2);
            }
            assertThat(seen).as("a parked thread found not run since").isEqualTo(counters);
            if (!counters) {
                return;
            }
            assertThat(t.lookState(tid.get())).isEqualTo(TaskStates.RunState.SLEEPING);
            java.util.concurrent.locks.LockSupport.unpark(th);
            ran.acquire(); // it ran after the look above
            t.lookState(tid.get());
            assertThat(t.notRunSinceLastLook(tid.get())).as("a thread that ran since the last look").isFalse();
        } finally {
            stop.set(true);
            java.util.concurrent.locks.LockSupport.unpark(th);
            th.join();
        }
    }

    /**
     * A new epoch of switch records starts at one instant for every CPU: rings are drained CPU after CPU, so a record
     * of the next drain may be older than a record of another CPU lost with the old epoch. Such older records are
     * ignored, or a thread switched out on CPU 0 after CPU 0 was read and in on CPU 1 before CPU 1 was looks off every
     * CPU while it runs (its stack, read then, would be kept once it sleeps).
     */
    @Test
    void switchRecordsOlderThanTheirEpochAreIgnored() throws Exception {
        long pid = ProcessHandle.current().pid();
        long tid = Long.parseLong(java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self"))
                .getFileName().toString());
        int id = (int) tid;
        try (TaskStates t = new TaskStates(pid)) {
            t.lookState(tid); // known to the task table
            t.followSwitches(1_000);
            t.switched(id, true, false, 0, 900); // before the records were followed
            long looks = t.switchLooks();
            t.lookState(tid);
            assertThat(t.switchLooks()).as("only a record older than the epoch: through /proc").isEqualTo(looks);
            t.switched(0, false, false, id, 1_100);
            t.switched(id, true, false, 0, 1_200);
            assertThat(t.lookState(tid)).isEqualTo(TaskStates.RunState.SLEEPING);
            assertThat(t.lookState(tid)).isEqualTo(TaskStates.RunState.SLEEPING);
            assertThat(t.notRunSinceLastLook(tid)).as("no switch-in since the previous look").isTrue();
            // Records lost; the drain that saw it ended at 2,000. The thread was switched out on CPU 0 at 1,990 (after
            // CPU 0 was read: in the next drain) and in on CPU 1 at 1,995 (before CPU 1 was read: lost).
            t.switchesLost(2_000);
            t.switched(id, true, false, 0, 1_990);
            looks = t.switchLooks();
            t.lookState(tid);
            assertThat(t.switchLooks()).as("running on CPU 1: not known from the records").isEqualTo(looks);
            t.switched(id, true, false, 0, 2_100); // asleep, out of CPU 1
            assertThat(t.lookState(tid)).isEqualTo(TaskStates.RunState.SLEEPING);
            assertThat(t.notRunSinceLastLook(tid)).as("first look of the epoch off the CPU").isFalse();
            assertThat(t.switchLooks()).isEqualTo(looks + 1);
        }
    }
}
