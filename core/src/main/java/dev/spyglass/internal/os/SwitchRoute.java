package dev.spyglass.internal.os;

/**
 * The switch-record route of {@link TaskStates}: whether it is followed, its epochs, and how each record reaches
 * the task it names ({@link TaskSwitches} holds what one task's records told). Knowledge holds within one epoch; a
 * drain that lost records starts another. Not thread-safe.
 */
final class SwitchRoute {
    /** {@link TaskStates#lookState} answers from the switch records where they tell. */
    private boolean on;
    private int epoch;
    /** When {@link #epoch} began (CLOCK_MONOTONIC ns, the records' clock): older records are ignored. */
    private long epochStart = Long.MIN_VALUE;
    private long looks;
    private long missedIns;

    boolean on() {
        return on;
    }

    int epoch() {
        return epoch;
    }

    /** Thread looks answered from the records. */
    long looks() {
        return looks;
    }

    /** Switch-ins the kernel did not record, inferred from two switch-outs of a task in a row. */
    long missedIns() {
        return missedIns;
    }

    void follow(long start) {
        on = true;
        newEpoch(start);
    }

    void lost(long now) {
        newEpoch(now);
    }

    /**
     * An epoch starts at one instant for the whole machine: {@code start}, taken after every ring's position was
     * read. Rings are read CPU after CPU, so a record written after one ring was read but before the next was would
     * be in the new epoch on the first CPU and lost with the old one on the second: a thread switched out on CPU 0
     * after CPU 0 was drained, then in on CPU 1 before CPU 1 was, would look off every CPU while it runs, and a stack
     * read while it ran would be kept once it sleeps (the stale stacks of SwitchedStacksTest in full suites of 5 Dec
     * 2026, where full rings start new epochs). Records older than {@code start} are ignored: from it on, none is
     * missed.
     */
    private void newEpoch(long start) {
        epoch++;
        epochStart = start;
    }

    /** One switch of the machine, in the order of its CPU, given to the tasks of {@code index} it names. */
    void switched(LongMap<Task> index, int prevTid, boolean prevSleeping, boolean prevExited, int nextTid, long time) {
        if (time < epochStart) {
            return; // before the epoch began on every CPU (see #newEpoch)
        }
        if (prevTid > 0) {
            Task p = index.get(prevTid);
            if (p != null) {
                // An exited thread's task goes through /proc again: its stat read fails and the task is forgotten,
                // so a new thread given the same TID gets its own (start time included).
                if (p.switches.switchedOut(time, prevSleeping, prevExited, epoch)) {
                    missedIns++;
                }
            }
        }
        if (nextTid > 0) {
            Task n = index.get(nextTid);
            if (n != null) {
                n.switches.switchedIn(time, epoch);
            }
        }
    }

    /** This look's state of {@code t} from the records, or null when they do not tell (see {@link TaskSwitches#look}). */
    TaskStates.RunState look(Task t) {
        TaskStates.RunState s = on ? t.switches.look(t.schedstat, epoch) : null;
        if (s != null) {
            looks++;
        }
        return s;
    }

    boolean provenIdle(Task t) {
        return on && t.switches.provenIdle(epoch);
    }

    String describe(Task t) {
        return (on ? "switch route, " : "schedstat route, ") + t.switches.describe(epoch) + ", missed ins " + missedIns
                + (t.schedstat.notRunSince ? ", not run since" : "");
    }
}
