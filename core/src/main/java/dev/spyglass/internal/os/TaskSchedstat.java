package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One thread's {@code /proc/PID/task/TID/schedstat}: its time on a CPU (ns), its time runnable but waiting for
 * one (ns), and how many times the scheduler put it on one. {@link TaskStates#lookState} compares them from look
 * to look to tell, without reading {@code stat}, that a sleeping thread has not run since. The file is opened at
 * the first read, through a descriptor kept open (one {@code pread} a look). Not thread-safe.
 *
 * <p>Three numbers the kernel prints without the locks and sums {@code stat} takes: ~1.5 µs a read against
 * 7 - 17 µs for {@code stat}, measured with 200 threads on a loaded 2-core machine.
 *
 * <p>Why unchanged counters prove a thread did not run: it runs only after the scheduler puts it on a CPU,
 * which adds one to the third number. One that was still on a CPU when {@code stat} said it sleeps (between
 * announcing its sleep and calling the scheduler, the kernel's {@code set_current_state}) and then did not
 * sleep after all has its time on the CPU added at its next switch or scheduler tick: at most one scheduler
 * tick (4 ms at HZ=250) can pass with the counters unchanged while it runs. (Also one preempted in that window:
 * taken off its CPU still marked sleeping, it is not queued again, so a wake-up that finds it on its run queue, the
 * kernel's {@code ttwu_runnable}, puts it back on a CPU without counting a timeslice; its time still grows at its
 * next switch or tick.) The proof starts at the reading: memory read before it, even in the same look, is not
 * covered ({@link TaskStates#tookNewReading}).
 */
final class TaskSchedstat {
    private FileChannel channel;
    private boolean tried;
    /** This look's counters; -1 when unread. */
    long runNanos = -1;
    long waitNanos = -1;
    long timeslices = -1;
    /** The counters read just before the latest {@code stat} reading, and what it said. */
    private long statRun = -1;
    private long statWait = -1;
    private long statSlices = -1;
    private TaskStates.RunState statState = TaskStates.RunState.UNKNOWN;
    /** The latest look found the thread not put on a CPU since a {@code stat} reading that saw it sleeping. */
    boolean notRunSince;
    /**
     * The latest look took the reading later looks compare with ({@link #statRead}): memory of the thread read
     * before it, in the same look, may predate it.
     */
    boolean newReading;

    /** Reads this look's counters (left -1 when the file is missing or malformed). */
    void read(Path taskDir, long tid, ByteBuffer buffer, byte[] bytes, long[] values) {
        runNanos = waitNanos = timeslices = -1;
        if (!tried) {
            tried = true;
            try {
                channel = FileChannel.open(taskDir.resolve(Long.toString(tid)).resolve("schedstat"), StandardOpenOption.READ);
            } catch (IOException | RuntimeException e) {
                channel = null; // a kernel without CONFIG_SCHED_INFO, or the thread ended
            }
        }
        if (channel == null) {
            return;
        }
        buffer.clear();
        int n;
        try {
            n = channel.read(buffer, 0);
        } catch (IOException e) {
            return;
        }
        if (n <= 0) {
            return;
        }
        buffer.flip();
        buffer.get(bytes, 0, n);
        if (parse(bytes, n, values)) {
            runNanos = values[0];
            waitNanos = values[1];
            timeslices = values[2];
        }
    }

    /** Whether this look's counters equal those read before a {@code stat} that said sleeping (and count anything). */
    boolean unchangedSinceSleeping() {
        return timeslices > 0 && statState == TaskStates.RunState.SLEEPING && runNanos == statRun
                && waitNanos == statWait && timeslices == statSlices;
    }

    /** Keeps this look's counters with the state {@code stat} gave right after them. */
    void statRead(TaskStates.RunState state) {
        newReading = true;
        statRun = runNanos;
        statWait = waitNanos;
        statSlices = timeslices;
        statState = state;
    }

    /** Forgets the reading kept by {@link #statRead}: the next look proves nothing. */
    void forgetStat() {
        statState = TaskStates.RunState.UNKNOWN;
    }

    /** The three numbers of a {@code schedstat} line into {@code into}; false when malformed. */
    static boolean parse(byte[] line, int length, long[] into) {
        int i = 0;
        for (int k = 0; k < 3; k++) {
            while (i < length && line[i] == ' ') {
                i++;
            }
            long v = 0;
            int digits = 0;
            while (i < length && line[i] >= '0' && line[i] <= '9' && digits < 19) {
                v = v * 10 + (line[i++] - '0');
                digits++;
            }
            if (digits == 0) {
                return false;
            }
            into[k] = v;
        }
        return true;
    }

    void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}
