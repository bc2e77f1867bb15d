package dev.spyglass.internal.kernel;

import java.util.ArrayList;
import java.util.List;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.Frame;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.os.LongMap;

/**
 * Puts the kernel's frames innermost in each sampled thread's stack, without stopping the target: a
 * thread that is not running shows the kernel stack it waits in ({@link TaskKernelStacks}), read right
 * after its Python stack. Used from the sampling thread only.
 */
public final class KernelFrames implements AutoCloseable {
    private final KernelFrameNames names = new KernelFrameNames();
    private final TaskKernelStacks blocked;
    private final List<Frame> kernel = new ArrayList<>(64);
    /**
     * Kernel stacks read before the threads were stopped for native frames, by TID, stamped with the look
     * they belong to: a thread held by ptrace shows {@code ptrace_stop}, and just after its release it is
     * on its way back into its system call, so its stack is read at the instant its run state is.
     */
    private LongMap<Early> early = new LongMap<>(64);
    private long look;

    private static final class Early {
        final List<Frame> frames = new ArrayList<>();
        long look;
    }
    private long blockedReads;
    private long withFrames;

    /**
     * @throws AccessDeniedException when this process may not read kernel stacks (see {@link #refusal})
     */
    public KernelFrames(long pid) throws AccessDeniedException {
        String why = refusal();
        if (why != null) {
            throw new AccessDeniedException("kernel frames: " + why);
        }
        this.blocked = new TaskKernelStacks(pid, names);
    }

    /**
     * Why this process may not read kernel frames, with what would allow it; null when it may. Checked on
     * this process itself, before any target is attached or launched.
     */
    public static String refusal() {
        return TaskKernelStacks.refusal();
    }

    /**
     * {@code stack} with its thread's kernel frames in front (innermost), or {@code stack} itself when
     * the thread shows none (it runs user code, ended, or its TID is unknown).
     */
    public ThreadStack addTo(ThreadStack stack) {
        long tid = stack.nativeThreadId();
        if (tid <= 0) {
            return stack;
        }
        kernel.clear();
        Early e = early.get(tid);
        if (e != null && e.look == look) {
            if (stack.state() == ThreadState.IDLE) {
                kernel.addAll(e.frames);
            }
        } else if (stack.state() == ThreadState.IDLE) {
            blockedReads++;
            blocked.read(tid, kernel);
        }
        if (kernel.isEmpty()) {
            return stack;
        }
        withFrames++;
        List<Frame> frames = new ArrayList<>(kernel.size() + stack.frames().size());
        frames.addAll(kernel);
        frames.addAll(stack.frames());
        return new ThreadStack(stack.pid(), stack.nativeThreadId(), stack.threadStartTime(), stack.pythonThreadId(),
                stack.threadName(), stack.interpreterId(), stack.state(), stack.gilHeld(), frames);
    }

    /**
     * Reads the kernel stacks of {@code tids[0 .. n)} now, for this look's {@link #addTo}: called just
     * before they are stopped for native frames (see {@code NativeStacks.beforeStop}).
     */
    public void readBeforeStop(int[] tids, int n) {
        look++;
        if (early.size() > 4 * n + 1024) {
            early = new LongMap<>(64); // TIDs of ended threads
        }
        for (int i = 0; i < n; i++) {
            Early e = early.get(tids[i]);
            if (e == null) {
                e = new Early();
                early.put(tids[i], e);
            }
            e.look = look;
            e.frames.clear();
            blockedReads++;
            blocked.read(tids[i], e.frames);
        }
    }

    /** Kernel stacks of blocked threads read so far. */
    public long blockedReads() {
        return blockedReads;
    }

    /** Stacks that got kernel frames so far. */
    public long stacksWithKernelFrames() {
        return withFrames;
    }

    @Override
    public void close() {
        blocked.close();
    }
}
