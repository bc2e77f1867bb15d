package dev.spyglass.internal.nativeframes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.AccessDiagnostics;
import dev.spyglass.internal.os.Errno;
import dev.spyglass.internal.os.Ptrace;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Stops a set of threads of one process for microseconds and keeps, per thread, its registers and a
 * copy of its stack: for each thread {@code PTRACE_SEIZE} and {@code PTRACE_INTERRUPT} (all threads
 * first, so they stop in parallel), then per thread wait for the stop, {@code PTRACE_GETREGS} and ONE
 * {@code process_vm_readv} of the stack from {@code rsp} up. The caller reads the Python stacks while
 * the threads are held, then {@link #resume()} detaches every one. Unwinding happens afterwards, on the
 * copies. libunwind-ptrace (austinp, py-spy {@code --native}) instead reads the stack a word per
 * {@code PTRACE_PEEKDATA} while the thread waits: 234 µs stopped at the median here, against about 20 µs.
 *
 * <p>A thread is seized for one stop only, and detached after it, rather than kept traced between
 * ticks: a traced thread stops at every signal the process receives until its tracer looks
 * (signal-delivery-stop), and a {@code SIGSTOP} to the process would need {@code PTRACE_LISTEN} to be
 * kept; detaching hands both back to the kernel. It costs one system call more per stop. A detach also
 * drops an interrupt that is still pending, and if the sampling thread dies its tracees are detached by
 * the kernel: a target is never left stopped.
 *
 * <p>Every call must come from one platform thread (the kernel binds a tracee to its tracer thread).
 * Not thread-safe.
 */
public final class ThreadStops implements AutoCloseable {
    /**
     * How long the stops of one tick may take to arrive. A thread that has not stopped by then (starved
     * of a CPU on a loaded machine, in an uninterruptible sleep) is left out of the tick and kept
     * {@linkplain #pending pending}: a seized thread can only be detached once it has stopped.
     */
    private static final long STOP_TIMEOUT_NANOS = 200_000_000L;
    /** How long {@link #close()} waits for pending stops before leaving them to the kernel. */
    private static final long CLOSE_TIMEOUT_NANOS = 1_000_000_000L;
    private static final int EPERM = 1;
    private static final int ESRCH = 3;

    private final Ptrace ptrace = new Ptrace();
    // Shared: the session may close a source from another thread than the sampling one.
    private final Arena arena = Arena.ofShared();
    private final RemoteMemory memory;
    private final long pid;
    private int stackBytes;
    private final StopTimeHistogram stopTimes;
    /**
     * Where a stop's time goes (debug diagnostics, {@link #phases()}): from the interrupt to the stop being
     * seen, the capture (registers and stack copy), and the rest until the resume (the caller's Python read).
     */
    private final StopTimeHistogram toStop = new StopTimeHistogram();
    private final StopTimeHistogram capture = new StopTimeHistogram();
    private final StopTimeHistogram held = new StopTimeHistogram();
    private long[] capturedAt = new long[16];

    private int count;
    /** Threads seized and interrupted whose stop had not come in time: detached as soon as it comes. */
    private int[] pending = new int[4];
    private int pendingCount;
    private int[] tids = new int[16];
    /** Per thread: SEIZED (interrupt sent), STOPPED (captured, to detach), or GONE. */
    private byte[] states = new byte[16];
    private int[] signals = new int[16];
    private long[] stopStarts = new long[16];
    private MemorySegment[] regs = new MemorySegment[16];
    private MemorySegment[] stacks = new MemorySegment[16];
    private long[] copied = new long[16];
    private static final byte GONE = 0;
    private static final byte SEIZED = 1;
    private static final byte STOPPED = 2;

    /**
     * @param stackBytes how much stack to copy per thread, from {@code rsp} up
     * @param stopTimes  where each thread's stop duration is recorded
     */
    public ThreadStops(RemoteMemory memory, long pid, int stackBytes, StopTimeHistogram stopTimes) {
        this.memory = memory;
        this.pid = pid;
        this.stackBytes = stackBytes;
        this.stopTimes = stopTimes;
    }

    /**
     * Stops {@code threadIds[0 .. n)} and captures each. A thread that exited or did not stop in time is
     * skipped ({@link #captured} is false for it).
     *
     * @throws AccessDeniedException the kernel refused to trace a thread (another debugger traces it,
     *                               Yama, capabilities): the message says which
     */
    public void stop(int[] threadIds, int n) throws SpyglassException {
        ensureCapacity(n);
        releasePending(0);
        count = n;
        for (int i = 0; i < n; i++) {
            int tid = threadIds[i];
            tids[i] = tid;
            states[i] = GONE;
            copied[i] = -1;
            if (isPending(tid)) {
                continue; // still ours from an earlier tick: not stopped yet
            }
            try {
                ptrace.seize(tid);
            } catch (Ptrace.PtraceException e) {
                if (e.errno() == ESRCH) {
                    continue; // exited since the last look
                }
                if (e.errno() == EPERM && ourTracer(tid)) {
                    addPending(tid); // ours already (a stop from a timed-out tick not seen yet)
                    continue;
                }
                if (e.errno() == EPERM && Ptrace.tracerOf(pid, tid) == 0 && (tid != pid || ended(tid))) {
                    // The kernel refuses to attach to a thread that is exiting (exit_state set): a thread of
                    // a process we may trace, refused with no other tracer, is ending. Left out of this tick.
                    // The main thread is a refusal of the whole process unless it has ended itself: the
                    // process exiting (the last look of a target that ends), or pthread_exit from main.
                    continue;
                }
                resume(); // the threads seized so far
                throw refused(tid, e);
            }
            stopStarts[i] = System.nanoTime();
            try {
                ptrace.interrupt(tid);
                states[i] = SEIZED;
            } catch (Ptrace.PtraceException e) {
                ptrace.detach(tid, 0);
            }
        }
        long deadline = System.nanoTime() + STOP_TIMEOUT_NANOS;
        for (int i = 0; i < n; i++) {
            if (states[i] != SEIZED) {
                continue;
            }
            int signal = ptrace.awaitStop(tids[i], Math.max(0, deadline - System.nanoTime()));
            if (signal == Ptrace.EXITED) {
                states[i] = GONE;
                continue;
            }
            if (signal == Ptrace.NOT_YET) {
                addPending(tids[i]);
                states[i] = GONE;
                continue;
            }
            signals[i] = signal;
            states[i] = STOPPED;
            long seen = System.nanoTime();
            toStop.record(seen - stopStarts[i]);
            try {
                ptrace.getRegs(tids[i], regs[i]);
                copied[i] = memory.readPartial(rsp(i), stacks[i].asSlice(0, stackBytes));
            } catch (SpyglassException e) {
                copied[i] = -1; // registers or stack unreadable: this thread's native stack is unknown
            }
            if (copied[i] == 0) {
                copied[i] = -1;
            }
            capturedAt[i] = System.nanoTime();
            capture.record(capturedAt[i] - seen);
        }
    }

    /** p50/p99 of the stop's parts in µs, for a debug line: to the stop, capture, held after the capture. */
    public String phases() {
        return "to stop " + micros(toStop) + ", capture " + micros(capture) + ", held for the Python read " + micros(held);
    }

    private static String micros(StopTimeHistogram h) {
        return h.percentileNanos(0.5) / 1000 + "/" + h.percentileNanos(0.99) / 1000 + " µs";
    }

    private AccessDeniedException refused(int tid, Ptrace.PtraceException e) {
        if (e.errno() == EPERM) {
            long tracer = Ptrace.tracerOf(pid, tid);
            if (tracer > 0) {
                return new AccessDeniedException("thread " + tid + " of process " + pid + " is already traced by process "
                        + tracer + " (a debugger or another profiler: " + commandOf(tracer)
                        + "); a thread has one tracer at a time, so native frames cannot be read while it is attached");
            }
            return new AccessDeniedException("native frames need to stop threads with ptrace: "
                    + AccessDiagnostics.explain(pid, "PTRACE_SEIZE of thread " + tid));
        }
        return new AccessDeniedException("cannot stop thread " + tid + " of process " + pid + " for native frames: "
                + Errno.name(e.errno()));
    }

    /**
     * Whether thread {@code tid} has ended: gone, or a zombie or dead task ({@code Z}, {@code X} in its stat line:
     * its exit_state is set, the state in which the kernel refuses {@code PTRACE_SEIZE} with EPERM).
     */
    private boolean ended(int tid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "task",
                    Integer.toString(tid), "stat"));
            int close = stat.lastIndexOf(')');
            char state = close > 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
            return state == 'Z' || state == 'X';
        } catch (java.io.IOException e) {
            return true;
        }
    }

    /** Whether {@code tid} is traced by a thread of this JVM ({@code TracerPid} names the tracing thread). */
    private boolean ourTracer(int tid) {
        long tracer = Ptrace.tracerOf(pid, tid);
        return tracer > 0 && java.nio.file.Files.exists(java.nio.file.Path.of("/proc/self/task", Long.toString(tracer)));
    }

    private static String commandOf(long tracer) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(tracer), "comm")).strip();
        } catch (java.io.IOException e) {
            return "unknown command";
        }
    }

    /**
     * Detaches the pending threads that have stopped since, waiting up to {@code timeoutNanos} for
     * them; a thread that exited is dropped.
     */
    private void releasePending(long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        int kept = 0;
        for (int i = 0; i < pendingCount; i++) {
            int tid = pending[i];
            int signal = ptrace.awaitStop(tid, Math.max(0, deadline - System.nanoTime()));
            if (signal == Ptrace.NOT_YET) {
                pending[kept++] = tid;
            } else if (signal != Ptrace.EXITED) {
                ptrace.detach(tid, signal);
            }
        }
        pendingCount = kept;
    }

    private boolean isPending(int tid) {
        for (int i = 0; i < pendingCount; i++) {
            if (pending[i] == tid) {
                return true;
            }
        }
        return false;
    }

    private void addPending(int tid) {
        if (pendingCount == pending.length) {
            pending = Arrays.copyOf(pending, pendingCount * 2);
        }
        pending[pendingCount++] = tid;
    }

    /** Threads seized whose stop has not come yet (tests, diagnostics). */
    public int pendingCount() {
        return pendingCount;
    }

    /** Detaches every thread {@link #stop} holds, passing on any signal that arrived meanwhile. */
    public void resume() {
        long now = System.nanoTime();
        for (int i = 0; i < count; i++) {
            if (states[i] == GONE) {
                continue;
            }
            ptrace.detach(tids[i], states[i] == STOPPED ? signals[i] : 0);
            if (states[i] == STOPPED) {
                stopTimes.record(now - stopStarts[i]);
                held.record(now - capturedAt[i]);
            }
            states[i] = GONE;
        }
    }

    /**
     * Reads, and throws away, the stack ranges the last {@link #stop} copied, into the same buffers: run before a stop
     * after a long idle time, it brings the target's page tables and these buffers back into the caches, so the copy
     * made while the thread is held takes less of its time (see {@code ReadAhead.warm}). Nothing is stopped.
     */
    public void warm() throws SpyglassException {
        for (int i = 0; i < count; i++) {
            if (copied[i] > 0 && states[i] == GONE) {
                memory.readPartial(rsp(i), stacks[i].asSlice(0, Math.min(copied[i], stackBytes)));
            }
        }
    }

    /** How many threads the last {@link #stop} was asked for. */
    public int count() {
        return count;
    }

    public int tid(int i) {
        return tids[i];
    }

    /** Whether thread {@code i}'s registers and stack were captured at the last stop. */
    public boolean captured(int i) {
        return copied[i] > 0;
    }

    public long rip(int i) {
        return regs[i].get(ValueLayout.JAVA_LONG, Ptrace.RIP);
    }

    public long rsp(int i) {
        return regs[i].get(ValueLayout.JAVA_LONG, Ptrace.RSP);
    }

    public long rbp(int i) {
        return regs[i].get(ValueLayout.JAVA_LONG, Ptrace.RBP);
    }

    /**
     * Copies {@code bytes} of stack per thread from the next stop on (more when a walk ran past the copy:
     * each copied KiB costs the stopped thread about 0.2 µs here).
     */
    public void stackBytes(int bytes) {
        stackBytes = bytes;
    }

    public int stackBytes() {
        return stackBytes;
    }

    /** Whether thread {@code i}'s copy was cut at {@link #stackBytes()} (its stack goes on above). */
    public boolean copyFull(int i) {
        return copied[i] >= stackBytes;
    }

    /** Thread {@code i}'s stack bytes copied at the last stop, from {@link #rsp} up. */
    public MemorySegment stack(int i) {
        return stacks[i].asSlice(0, Math.max(0, copied[i]));
    }

    private void ensureCapacity(int n) {
        if (n > tids.length) {
            int size = Math.max(n, tids.length * 2);
            tids = Arrays.copyOf(tids, size);
            states = Arrays.copyOf(states, size);
            signals = Arrays.copyOf(signals, size);
            stopStarts = Arrays.copyOf(stopStarts, size);
            capturedAt = Arrays.copyOf(capturedAt, size);
            copied = Arrays.copyOf(copied, size);
            regs = Arrays.copyOf(regs, size);
            stacks = Arrays.copyOf(stacks, size);
        }
        for (int i = 0; i < n; i++) {
            if (regs[i] == null) {
                regs[i] = arena.allocate(Ptrace.REGS_BYTES, 8);
            }
            // Grown rarely (a few doublings at most); the old buffer stays with the arena until close.
            if (stacks[i] == null || stacks[i].byteSize() < stackBytes) {
                stacks[i] = arena.allocate(stackBytes, 8);
            }
        }
    }

    /**
     * Detaches anything still held (only after a failure between {@link #stop} and {@link #resume}) and
     * frees the buffers.
     */
    @Override
    public void close() {
        resume();
        // From the sampling thread this waits for late stops and detaches; from another thread the
        // detach is refused, and the kernel detaches them when the sampling thread ends.
        releasePending(CLOSE_TIMEOUT_NANOS);
        ptrace.close();
        arena.close();
    }
}
