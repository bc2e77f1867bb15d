package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The proof {@link TaskSwitches} draws from switch records: a stack may be kept only across two looks that both
 * found the task off every CPU, in one epoch, with no switch-in between; records lost (a new epoch) or a look that
 * found it running break the chain.
 */
class TaskSwitchesTest {
    private static TaskStates.RunState look(TaskSwitches w, TaskSchedstat c, int epoch) {
        c.notRunSince = false;
        return w.look(c, epoch);
    }

    @Test
    void keepsAStackOnlyAcrossLooksWithNoSwitchInBetween() {
        TaskSwitches w = new TaskSwitches();
        TaskSchedstat c = new TaskSchedstat();
        assertThat(look(w, c, 1)).as("nothing seen: the /proc route").isNull();
        w.switchedIn(10, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.RUNNING);
        assertThat(c.notRunSince).isFalse();
        w.switchedOut(20, true, false, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).as("first look off the CPU: read").isFalse();
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).as("no switch since").isTrue();
        // Woken and asleep again between two looks: same state, but it ran.
        w.switchedIn(30, 1);
        w.switchedOut(40, true, false, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).as("switched in since").isFalse();
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).isTrue();
        // Preempted: off the CPU but runnable.
        w.switchedIn(50, 1);
        w.switchedOut(60, false, false, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.RUNNING);
        assertThat(c.notRunSince).isFalse();
    }

    @Test
    void lostRecordsForgetEverything() {
        TaskSwitches w = new TaskSwitches();
        TaskSchedstat c = new TaskSchedstat();
        w.switchedOut(20, true, false, 1);
        look(w, c, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).isTrue();
        assertThat(look(w, c, 2)).as("a new epoch: unknown until seen switching").isNull();
        w.switchedOut(30, true, false, 2);
        look(w, c, 2);
        assertThat(c.notRunSince).as("first look of the new epoch").isFalse();
        assertThat(look(w, c, 2)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).isTrue();
    }

    @Test
    void anExitedTaskGoesThroughProcEvenWhenItsTidIsSwitchedAgain() {
        TaskSwitches w = new TaskSwitches();
        TaskSchedstat c = new TaskSchedstat();
        w.switchedOut(20, true, false, 1);
        look(w, c, 1);
        w.switchedIn(30, 1);
        w.switchedOut(40, true, true, 1);
        assertThat(look(w, c, 1)).as("exited: /proc tells it ended").isNull();
        w.switchedIn(50, 1); // another thread given the same TID
        w.switchedOut(60, true, false, 1);
        assertThat(look(w, c, 1)).isNull();
        assertThat(c.notRunSince).isFalse();
    }

    @Test
    void ordersTheSwitchesOfTwoCpusByTime() {
        TaskSwitches w = new TaskSwitches();
        TaskSchedstat c = new TaskSchedstat();
        // Drained CPU after CPU: out at 40 on CPU 1 read after in at 30 and out at 20 on CPU 0... and in at 50 on CPU 1.
        w.switchedIn(50, 1);
        w.switchedOut(20, true, false, 1);
        assertThat(look(w, c, 1)).as("its latest switch is in").isEqualTo(TaskStates.RunState.RUNNING);
    }

    /**
     * The kernel may drop a switch-in without a lost record (seen on Linux 6.18 in full suites): a task that sleeps,
     * is woken unseen and sleeps again shows two switch-outs in a row, and the second must break the proof.
     */
    @Test
    void twoSwitchOutsInARowCountTheSwitchInBetween() {
        TaskSwitches w = new TaskSwitches();
        TaskSchedstat c = new TaskSchedstat();
        w.switchedIn(10, 1);
        assertThat(w.switchedOut(20, true, false, 1)).isFalse();
        look(w, c, 1);
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).isTrue();
        assertThat(w.switchedOut(40, true, false, 1)).as("no switch-in since 20: one was dropped").isTrue();
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).as("it ran between the two switch-outs").isFalse();
        assertThat(look(w, c, 1)).isEqualTo(TaskStates.RunState.SLEEPING);
        assertThat(c.notRunSince).isTrue();
        // A switch-out older than the latest (another CPU's, read later) proves nothing missing.
        assertThat(w.switchedOut(30, true, false, 1)).isFalse();
        // The first record of an epoch may be a switch-out (running when it began); the next one needs a switch-in.
        TaskSwitches v = new TaskSwitches();
        assertThat(v.switchedOut(5, true, false, 1)).isFalse();
        v.switchedIn(6, 1);
        assertThat(v.switchedOut(7, true, false, 1)).isFalse();
    }
}
