package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * One thread of a {@link TaskStates}: its open {@code /proc/PID/task/TID/stat} descriptor (bound to that task: a
 * new task under the same TID gets a new one) and what its looks learnt about it.
 */
final class Task {
    final FileChannel stat;
    final long hostTid;
    /** The TID in the target's own PID namespace (= {@link #hostTid} when not namespaced), or -1. */
    final long targetTid;
    String name;
    /** Field 22 of the stat line ({@code starttime}, clock ticks after boot), 0 until first read. */
    long startTime;
    /** Read by {@link TaskStates#lookState} only. */
    final TaskSchedstat schedstat = new TaskSchedstat();
    /** What the switch records told, when they are followed ({@link TaskStates#followSwitches}). */
    final TaskSwitches switches = new TaskSwitches();

    Task(FileChannel stat, long hostTid, long targetTid) {
        this.stat = stat;
        this.hostTid = hostTid;
        this.targetTid = targetTid;
    }

    /** Closes the task's descriptors, quietly: the task is being forgotten. */
    void close() {
        try {
            stat.close();
            schedstat.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
