package dev.spyglass.internal.os;

/**
 * What the scheduler's switch records ({@code dev.spyglass.internal.kernel.SwitchRecords}) told about one task,
 * and the proof {@link TaskStates#lookState} draws from them: a task whose latest record is a switch-out is off
 * every CPU, and one that was off every CPU at a look and has not been switched in since has not run, so its
 * memory (its Python stack) is as that look read it. Knowledge holds within one epoch of {@link TaskStates}: a
 * drain that lost records starts a new one, and a task is then unknown again until its next record. Not
 * thread-safe.
 */
final class TaskSwitches {
    /** The epoch of what is below; any other: nothing known. */
    private int epoch = -1;
    private long lastIn = Long.MIN_VALUE;
    private long lastOut = Long.MIN_VALUE;
    private boolean outSleeping;
    /** Switch-ins counted in this epoch. */
    private long ins;
    /** The epoch and switch-ins of the latest look that found the task off every CPU; epoch -1: none. */
    private int lookEpoch = -1;
    private long lookIns;
    /** The task exited: the records of its TID are another task's from now on. */
    private boolean exited;

    private void sync(int current) {
        if (epoch != current) {
            epoch = current;
            lastIn = lastOut = Long.MIN_VALUE;
            ins = 0;
            lookEpoch = -1;
        }
    }

    void switchedIn(long time, int current) {
        sync(current);
        ins++;
        lastIn = Math.max(lastIn, time);
    }

    /** @return whether a switch-in the kernel did not record was inferred (see below) */
    boolean switchedOut(long time, boolean sleeping, boolean exited, int current) {
        sync(current);
        this.exited |= exited;
        boolean missedIn = false;
        // Records are drained CPU after CPU: a task's switches on two CPUs are put in order by their times.
        if (time > lastOut) {
            // A switch-out follows a switch-in on the same CPU, whose record comes first in that CPU's ring: when a
            // later switch-out comes with no switch-in since the previous one, the kernel dropped that switch-in
            // without a lost record (seen in full suites on Linux 6.18: a parked thread woken, moved and parked
            // again with only its second switch-out recorded, so its old stack was kept). Counting it breaks the
            // proof; the stack kept until this record is the one of the looks while it ran unseen.
            if (lastOut != Long.MIN_VALUE && lastIn < lastOut) {
                ins++;
                missedIn = true;
            }
            lastOut = time;
            outSleeping = sleeping;
        }
        return missedIn;
    }

    /** Whether the records of epoch {@code current} tell where the task is (a switch of it was seen). */
    boolean known(int current) {
        return !exited && epoch == current && (lastIn != Long.MIN_VALUE || lastOut != Long.MIN_VALUE);
    }

    /** Off every CPU: its latest switch is out. Only when {@link #known}. */
    boolean offCpu() {
        return lastOut > lastIn;
    }

    /** Off every CPU because it went to sleep (not preempted). Only when {@link #offCpu}. */
    boolean sleeping() {
        return outSleeping;
    }

    /**
     * For a look that finds the task {@link #offCpu}: whether the previous such look did too, in this epoch, with
     * no switch-in since (the task has not run between them); this look then becomes the one compared next.
     */
    boolean notRunSinceLastLook(int current) {
        boolean proven = lookEpoch == current && lookIns == ins;
        lookEpoch = current;
        lookIns = ins;
        return proven;
    }

    /**
     * This look's state from the records, or null when they do not tell (nothing seen in this epoch). Where they
     * tell, no file is read; {@code c.notRunSince} says whether the task has not run since the previous look. The
     * schedstat route's own comparison would span looks it did not see: it starts again from its next stat.
     */
    TaskStates.RunState look(TaskSchedstat c, int current) {
        if (!known(current)) {
            forgetLook();
            return null;
        }
        c.forgetStat();
        if (offCpu()) {
            c.notRunSince = notRunSinceLastLook(current);
            return sleeping() ? TaskStates.RunState.SLEEPING : TaskStates.RunState.RUNNING;
        }
        forgetLook();
        return TaskStates.RunState.RUNNING;
    }

    /**
     * What {@link #notRunSinceLastLook} would answer now, without recording a look: the task is off every CPU, a
     * previous look of this epoch found it so, and it has not been switched in since.
     */
    boolean provenIdle(int current) {
        return known(current) && offCpu() && lookEpoch == current && lookIns == ins;
    }

    /** A look that found the task on a CPU, or unknown: the next look proves nothing from this one. */
    void forgetLook() {
        lookEpoch = -1;
    }

    /** What is known, for diagnostics (tests): epochs, last switch times, switch-ins counted. */
    String describe(int current) {
        return "epoch " + epoch + "/" + current + ", in " + lastIn + ", out " + lastOut + (outSleeping ? " sleeping" : "")
                + ", ins " + ins + ", look " + lookEpoch + "/" + lookIns + (exited ? ", exited" : "");
    }
}
