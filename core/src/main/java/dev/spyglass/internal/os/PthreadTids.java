package dev.spyglass.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;

/**
 * Kernel thread ids from glibc's {@code struct pthread}, for CPython ≤3.10, which records only each
 * thread's {@code pthread_t} (a pointer to that struct; Python's ident). The offset of {@code tid} in
 * {@code struct pthread} is found once: the main thread's TID equals the PID, so we look for the PID in
 * each thread's {@code struct pthread} and keep an offset at which every thread holds a TID the kernel
 * lists. With another C library nothing is found and TIDs stay unknown. Not thread-safe.
 */
public final class PthreadTids {
    private static final Logger LOG = LoggerFactory.getLogger(PthreadTids.class);
    private static final long CALIBRATION_GAP_NANOS = 500_000_000L;

    private final long pid;
    private final RemoteMemory memory;
    private final TaskStates tasks;
    private long tidOffset = -1;
    private long lastCalibration;

    public PthreadTids(long pid, RemoteMemory memory, TaskStates tasks) {
        this.pid = pid;
        this.memory = memory;
        this.tasks = tasks;
    }

    /** Whether the offset of {@code tid} is known. */
    public boolean calibrated() {
        return tidOffset >= 0;
    }

    /** Whether {@link #calibrate} would try now (at most every 500 ms: it reads 2 KiB per thread). */
    public boolean calibrationDue() {
        return lastCalibration == 0 || System.nanoTime() - lastCalibration >= CALIBRATION_GAP_NANOS;
    }

    /**
     * Looks for the offset of {@code tid} in the {@code struct pthread} of the first {@code n}
     * {@code pthreads} (every thread of the latest look: we do not know which one is the main thread).
     */
    public void calibrate(long[] pthreads, int n) throws SpyglassException {
        lastCalibration = System.nanoTime();
        long found = -1;
        boolean ambiguous = false;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(2048, 8);
            for (int i = 0; i < n; i++) {
                long got = memory.readPartial(pthreads[i], buf);
                for (long off = 0; off + 4 <= got; off += 4) {
                    if (buf.get(ValueLayout.JAVA_INT, off) != tasks.targetPid() || !worksForAll(off, pthreads, n)) {
                        continue;
                    }
                    if (!tasks.namespaced()) {
                        tidOffset = off;
                        LOG.debug("process {}: struct pthread tid at offset {}", pid, off);
                        return;
                    }
                    if (found < 0 || found == off) {
                        found = off;
                    } else {
                        ambiguous = true;
                    }
                }
            }
        }
        // In a container the PID the target sees is small (often 1), a value other fields of struct
        // pthread hold as well: take an offset only when no other one fits every thread. More threads
        // (with distinct TIDs) settle it later.
        if (found >= 0 && !ambiguous) {
            tidOffset = found;
            LOG.debug("process {}: struct pthread tid at offset {} (PID {} in its namespace)", pid, found,
                    tasks.targetPid());
        } else if (ambiguous) {
            LOG.debug("process {}: struct pthread tid offset ambiguous with {} threads", pid, n);
        }
    }

    /**
     * The TID (in this JVM's PID namespace) of the thread whose {@code pthread_t} is {@code pthread},
     * or -1 (not calibrated, or the thread ended).
     */
    public long tid(long pthread) throws SpyglassException {
        if (tidOffset < 0 || pthread == 0 || (pthread & 7) != 0) {
            return -1;
        }
        // Read at every look, not cached by pthread_t: glibc gives a joined thread's struct pthread (and
        // so its pthread_t, Python's ident) to the next thread it starts, and the kernel rewrites the tid
        // there (CLONE_CHILD_CLEARTID zeroes it at exit, clone sets the new one). A cache keyed by
        // pthread_t named the new thread with the old TID while the task list still showed the old task.
        try {
            // struct pthread holds the TID in the target's PID namespace.
            long tid = tasks.hostTid(memory.readInt(pthread + tidOffset));
            if (tid > 0 && tasks.exists(tid)) {
                return tid;
            }
        } catch (MemoryFault f) {
            // thread ended
        }
        return -1;
    }

    private boolean worksForAll(long off, long[] pthreads, int n) throws SpyglassException {
        long[] seen = new long[n];
        for (int i = 0; i < n; i++) {
            try {
                long tid = tasks.hostTid(memory.readInt(pthreads[i] + off));
                if (tid <= 0 || !tasks.exists(tid)) {
                    return false;
                }
                // Distinct threads have distinct TIDs. In a container the main thread's TID is often 1,
                // a value many fields of struct pthread hold.
                for (int j = 0; j < i; j++) {
                    if (seen[j] == tid && pthreads[j] != pthreads[i]) {
                        return false;
                    }
                }
                seen[i] = tid;
            } catch (MemoryFault f) {
                return false;
            }
        }
        return true;
    }
}
