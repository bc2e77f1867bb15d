package dev.spyglass.internal.kernel;

import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.internal.os.LongMap;

/**
 * Puts the kernel's frames innermost in each sampled thread's stack, without stopping the target:
 * <ul>
 * <li>a thread that is not running shows the kernel stack it waits in ({@link TaskKernelStacks}), read
 * right after its Python stack (or, with native frames, just before the threads are stopped);
 * <li>a running thread shows the kernel part of its latest CPU-clock sample ({@link KernelCallchains}),
 * when that sample is at most one interval old: the kernel cannot give a running thread's stack on
 * demand, so this is the thread's kernel state at most one interval before the look. A sample taken
 * in user mode has no kernel part, and then the stack gets none.
 * </ul>
 * Used from the sampling thread only.
 */
public final class KernelFrames implements AutoCloseable {
    private final KernelFrameNames names = new KernelFrameNames();
    private final TaskKernelStacks blocked;
    private final KernelCallchains running;
    private final KernelSymbols symbols;
    private final long intervalNanos;
    private final List<Frame> kernel = new ArrayList<>(64);
    private final long[] ips = new long[KernelCallchains.MAX_FRAMES];
    /** Frames by kernel address: a steady sampler meets the same few hundred addresses. */
    private LongMap<Frame> byAddress = new LongMap<>(1024);
    private int[] tids = new int[16];
    private long lookNanos;
    /**
     * Kernel stacks read before the threads were stopped for native frames, by TID, stamped with the look
     * they belong to: a thread held by ptrace shows {@code ptrace_stop}, and just after its release it is
     * on its way back into its system call, so its stack is read at the instant its run state is.
     */
    private LongMap<Early> early = new LongMap<>(64);
    private long look;
    /** Native frames stop the threads at each look ({@link #readBeforeStop} was called). */
    private boolean stopsThreads;
    /** Kernel functions of a ptrace stop (Linux 6.x): where a thread is held while native frames are read. */
    private static final java.util.Set<String> OUR_STOP = java.util.Set.of("ptrace_stop", "ptrace_notify",
            "ptrace_signal", "do_jobctl_trap", "do_signal_stop");
    private long blockedReads;
    private long runningLooks;
    private long withFrames;
    /** Read by other threads ({@link #samplesTaken}). */
    private volatile long samplesTaken;

    private static final class Early {
        final List<Frame> frames = new ArrayList<>();
        long look;
    }

    /**
     * @param pid           the target
     * @param intervalNanos the sampling interval: a running thread's CPU clock is sampled at this period.
     *                      The right to read kernel frames is checked before (see {@link #refusal}: the
     *                      sampler asks once, before it attaches or launches); a refusal found later
     *                      surfaces from {@link #look}
     */
    public KernelFrames(long pid, long intervalNanos) {
        this.intervalNanos = intervalNanos;
        this.blocked = new TaskKernelStacks(pid, names);
        this.running = new KernelCallchains(pid, intervalNanos);
        this.symbols = KernelSymbols.load();
    }

    /**
     * Why this process may not read kernel frames, with what would allow it; null when it may. Checked on
     * this process itself, before any target is attached or launched: the kernel stack file of one of its
     * threads, and a kernel-sampling perf event on the calling thread.
     */
    public static String refusal() {
        String why = TaskKernelStacks.refusal();
        return why != null ? why : KernelCallchains.refusal();
    }

    /**
     * Follows the threads of this look ({@code tids[0 .. n)}, host TIDs; 0 or less for unknown) and reads
     * what their CPU-clock samples recorded since the last look. Call once per look, after the Python
     * stacks were read and before {@link #addTo}.
     *
     * @throws SpyglassException the kernel stopped allowing kernel sampling (see {@link KernelCallchains#track})
     */
    public void look(long[] threadIds, int n) throws SpyglassException {
        lookNanos = System.nanoTime();
        if (tids.length < n) {
            tids = new int[Math.max(n, tids.length * 2)];
        }
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (threadIds[i] > 0 && threadIds[i] <= Integer.MAX_VALUE) {
                tids[count++] = (int) threadIds[i];
            }
        }
        running.track(tids, count);
        running.drain();
        samplesTaken = running.samplesTaken();
    }

    /**
     * {@code stack} with its thread's kernel frames in front (innermost), or {@code stack} itself when
     * the thread shows none (it runs user code, ended, or its TID is unknown).
     */
    public ThreadStack addTo(ThreadStack stack) {
        long tid = stack.nativeThreadId();
        if (tid <= 0 || tid > Integer.MAX_VALUE) {
            return stack;
        }
        kernel.clear();
        if (stack.state() == ThreadState.RUNNING) {
            runningLooks++;
            int n = running.kernelIps((int) tid, lookNanos - intervalNanos, ips);
            for (int i = 0; i < n; i++) {
                Frame f = frameAt(ips[i]);
                if (stopsThreads && OUR_STOP.contains(f.function())) {
                    // Sampled while our own ptrace stop held it (native frames): time we took, not the
                    // program's. Its kernel state before the stop is unknown: none shown.
                    kernel.clear();
                    break;
                }
                kernel.add(f);
            }
        } else {
            Early e = early.get(tid);
            if (e != null && e.look == look) {
                kernel.addAll(e.frames);
            } else {
                blockedReads++;
                blocked.read(tid, kernel);
            }
            // A thread released by the previous look that got no CPU since is still inside our ptrace stop (seen
            // under two CPU hogs: spinner threads on pyenv 2.7 and 3.7): not the program's kernel path, none shown.
            if (stopsThreads && kernel.stream().anyMatch(f -> OUR_STOP.contains(f.function()))) {
                kernel.clear();
            }
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

    /** The frame of kernel address {@code ip}: its symbol, or {@code [kernel]+0xADDRESS} when none is known. */
    private Frame frameAt(long ip) {
        Frame f = byAddress.get(ip);
        if (f == null) {
            String name = symbols.nameOf(ip);
            f = names.frame(name != null ? name : Frame.KERNEL_FILE + "+0x" + Long.toHexString(ip));
            if (byAddress.size() > 65_536) {
                byAddress = new LongMap<>(1024); // bounded: addresses of a long run with much kernel work
            }
            byAddress.put(ip, f);
        }
        return f;
    }

    /**
     * Reads the kernel stacks of {@code tids[0 .. n)} now, for this look's {@link #addTo}: called just
     * before they are stopped for native frames (see {@code NativeStacks.beforeStop}).
     */
    public void readBeforeStop(int[] stopping, int n) {
        stopsThreads = true;
        look++;
        if (early.size() > 4 * n + 1024) {
            early = new LongMap<>(64); // TIDs of ended threads
        }
        for (int i = 0; i < n; i++) {
            Early e = early.get(stopping[i]);
            if (e == null) {
                e = new Early();
                early.put(stopping[i], e);
            }
            e.look = look;
            e.frames.clear();
            blockedReads++;
            blocked.read(stopping[i], e.frames);
        }
    }

    /** Kernel stacks of blocked threads read so far. */
    public long blockedReads() {
        return blockedReads;
    }

    /** Running threads whose latest CPU-clock sample was looked at so far. */
    public long runningLooks() {
        return runningLooks;
    }

    /** Stacks that got kernel frames so far. */
    public long stacksWithKernelFrames() {
        return withFrames;
    }

    /** CPU-clock samples the kernel took of the target's threads up to the last look (read, and dropped). */
    public long samplesTaken() {
        return samplesTaken;
    }

    /** Samples the kernel dropped because a thread's ring buffer was full. */
    public long lostSamples() {
        return running.lostSamples();
    }

    @Override
    public void close() {
        blocked.close();
        running.close();
    }
}
