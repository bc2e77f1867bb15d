package dev.spyglass.internal.session;

import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.kernel.KernelFrames;
import dev.spyglass.internal.nativeframes.NativeFrames;
import dev.spyglass.internal.nativeframes.PageFaultStacks;
import dev.spyglass.internal.python.AsyncTaskStacks;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/** The Python stacks of one process: at each tick, one {@link StackSample} per thread the mode asks for. */
public final class PythonStackSource implements EventSource {
    /**
     * The least cap on one wall-mode weight. A gap longer than the cap means the thread was not
     * observed (the sampling thread was stopped, e.g. by a debugger or SIGSTOP, or the machine
     * suspended), not that the sampler ran late: a late sampler skips ticks for a few intervals at a
     * time, and JVM pauses (GC, safepoints) last at most tens of milliseconds, both far below 1 s.
     * Ten intervals keep a margin for long intervals, where one late tick is already a second.
     */
    static final long MIN_WEIGHT_CAP_NANOS = 1_000_000_000L;
    static final int WEIGHT_CAP_INTERVALS = 10;

    private final Target target;
    private final long intervalNanos;
    private final long weightCapNanos;
    private final LastSampleTimes lastSampleTimes = new LastSampleTimes();
    /** Merges native frames into each stack; null when the session did not ask for them. */
    private final NativeFrames natives;
    /** Puts kernel frames innermost in each stack; null when the session did not ask for them. */
    private final KernelFrames kernel;
    private long[] threadIds = new long[16];
    /** {@link SamplingMode#MEMORY}: RSS changes given to the GIL's holder; made at the first such poll. */
    private ResidentMemoryDeltas memory;
    /** {@link SamplingMode#PAGE_FAULTS}: fault snapshots with merged stacks; made at the first such poll. */
    private volatile PageFaultStacks faults; // volatile: the session's stats read it from other threads
    /** Faults per page-fault sample. */
    static final long FAULT_PERIOD = 64;
    /** Task stacks of the threads running an asyncio event loop; null when the session did not ask for them. */
    private AsyncTaskStacks asyncTasks;

    /**
     * @param target        the attached process; closed with this source
     * @param intervalNanos the session's interval: the weight of every CPU-mode sample, and of a
     *                      thread's first wall-mode sample
     */
    public PythonStackSource(Target target, long intervalNanos) {
        this(target, intervalNanos, null);
    }

    /**
     * @param natives merges native frames into every stack (either engine); null for Python frames only.
     *                Closed with this source
     */
    public PythonStackSource(Target target, long intervalNanos, NativeFrames natives) {
        this(target, intervalNanos, natives, null);
    }

    /**
     * @param kernel puts each thread's kernel frames innermost; null for none. Closed with this source
     */
    public PythonStackSource(Target target, long intervalNanos, NativeFrames natives, KernelFrames kernel) {
        this.target = target;
        this.natives = natives;
        this.kernel = kernel;
        if (natives != null && kernel != null) {
            natives.beforeStop(kernel::readBeforeStop);
        }
        this.intervalNanos = intervalNanos;
        this.weightCapNanos = weightCapNanos(intervalNanos);
    }

    /** Whether the stacks show asyncio tasks ({@link dev.spyglass.Sampler.Builder#asyncTasks}); set before polling. */
    public void asyncTasks(boolean show) {
        this.asyncTasks = show ? new AsyncTaskStacks(target) : null;
    }

    /** Task trees dropped because the target changed them while they were read. */
    public long tornTaskTrees() {
        return asyncTasks == null ? 0 : asyncTasks.tornTrees();
    }

    /** The most one wall-mode sample weighs: 10 intervals or 1 s, whichever is larger. */
    public static long weightCapNanos(long intervalNanos) {
        long intervals = intervalNanos > Long.MAX_VALUE / WEIGHT_CAP_INTERVALS ? Long.MAX_VALUE
                : intervalNanos * WEIGHT_CAP_INTERVALS;
        return Math.max(MIN_WEIGHT_CAP_NANOS, intervals);
    }

    /**
     * Reads the threads' Python stacks once and keeps no sample, before the session's clock starts. Why: a JVM's
     * first look loads and links the reading path's classes and downcalls and runs it interpreted; at 10 kHz on a
     * loaded 2-core machine (load 16) the first tick took 1.05 s, every planned tick of which was counted
     * skipped. Only the target's read: this source's own state (wall mode's previous-sample times, RSS deltas) is
     * left as it was, so the first sample still weighs one interval. Not with native or kernel frames (their look
     * stops threads or consumes kernel snapshots) nor page faults. A failure (the target just exited, a torn read)
     * is left for the first tick, which meets and reports it as before.
     *
     * @return {@code true} when the read was taken and succeeded
     */
    public boolean warmUp(SamplingMode mode) {
        if (natives != null || kernel != null || mode == SamplingMode.PAGE_FAULTS) {
            return false;
        }
        try {
            int n = target.readThreads(mode);
            for (int i = 0; i < n; i++) {
                ThreadRecord t = target.thread(i);
                if (!t.torn() && !t.skipped()) {
                    target.threadStack(t);
                }
            }
            return true;
        } catch (SpyglassException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public void poll(long timestampNanos, SamplingMode mode, EventBuffer out) throws SpyglassException {
        if (mode == SamplingMode.PAGE_FAULTS) {
            // Made at the first poll (the unwind tables of the target's objects are read then); closed with this.
            PageFaultStacks f = faults;
            if (f == null) {
                faults = f = new PageFaultStacks(target, FAULT_PERIOD);
            }
            f.poll(timestampNanos, out::add);
            return;
        }
        // CPU mode: every reported thread weighs one interval; threads not running at the tick are
        // skipped by the read. (The process CPU clock of another process is no finer than the
        // scheduler tick, 4 ms here: it cannot weigh 1 ms samples.)
        // Wall mode: a sample weighs the time since the same thread's previous sample, so that when
        // the sampler falls behind (skipped ticks) a thread's weights still add up to the time it was
        // observed. The tick's epoch timestamp is its monotonic time plus a constant offset for the
        // session, so differences of timestamps are monotonic durations.
        boolean wall = mode == SamplingMode.WALL;
        // Memory mode: the read keeps the GIL's holder only (as GIL mode); its stack takes the RSS change.
        boolean rss = mode == SamplingMode.MEMORY;
        ThreadStack holder = null;
        int n = natives == null ? target.readThreads(mode) : natives.readThreads(mode);
        if (kernel != null) {
            if (threadIds.length < n) {
                threadIds = new long[Math.max(n, threadIds.length * 2)];
            }
            for (int i = 0; i < n; i++) {
                threadIds[i] = target.thread(i).nativeThreadId();
            }
            kernel.look(threadIds, n);
        }
        for (int i = 0; i < n; i++) {
            ThreadRecord t = target.thread(i);
            long key = t.nativeThreadId() > 0 ? t.nativeThreadId() : t.threadStateAddress();
            ThreadStack stack = null;
            if (t.retried() || t.torn()) {
                // Torn at the first read: recovered by the reader's one retry (then sampled below, at this tick's
                // time like every thread of the look), or still torn (also when it was not read again).
                out.tornAtFirstRead(!t.torn());
            }
            if (!t.torn() && !t.skipped()) {
                stack = target.threadStack(t);
                if (natives != null) {
                    stack = natives.merge(t, stack); // null: the native and Python stacks do not agree
                }
            }
            if (stack == null) {
                if (t.torn() || !t.skipped()) {
                    out.tornSample();
                }
                if (wall && key != 0) {
                    // Not lost: the thread's next good sample carries the time since its last one.
                    lastSampleTimes.seen(key, lastSampleTimes.previous(key));
                }
                continue;
            }
            stack = Target.markGarbageCollection(t, stack);
            if (kernel != null) {
                stack = kernel.addTo(stack);
            }
            if (rss) {
                // Where the holder is unknown (2.7) the read keeps the running threads: the first takes it.
                holder = holder == null ? stack : holder;
                continue;
            }
            long weight = weight(wall, key, timestampNanos);
            if (asyncTasks != null) {
                asyncTasks.stacks(t, stack, wall, s -> out.add(new StackSample(s, timestampNanos, weight)));
            } else {
                out.add(new StackSample(stack, timestampNanos, weight));
            }
        }
        if (rss) {
            if (memory == null) {
                memory = new ResidentMemoryDeltas(target.pid());
            }
            memory.attribute(holder, timestampNanos, out);
            return;
        }
        if (natives != null) {
            // Threads without a Python thread state (native frames of all threads), weighed the same way.
            natives.forEachNativeOnly(mode, stack -> out.add(new StackSample(kernel == null ? stack : kernel.addTo(stack),
                    timestampNanos, weight(wall, stack.nativeThreadId(), timestampNanos))));
        }
        if (wall) {
            lastSampleTimes.endLook();
        }
    }

    /**
     * One sample's weight: an interval in CPU mode (or for a thread with no key), in wall mode the time
     * since the thread's previous sample (capped), recording this one.
     */
    private long weight(boolean wall, long key, long timestampNanos) {
        if (!wall || key == 0) {
            return intervalNanos;
        }
        long weight = intervalNanos;
        long last = lastSampleTimes.previous(key);
        if (last != LastSampleTimes.UNKNOWN) {
            weight = Math.min(Math.max(0, timestampNanos - last), weightCapNanos);
        }
        lastSampleTimes.seen(key, timestampNanos);
        return weight;
    }

    /** The page-fault sampler; null before the first poll in {@link SamplingMode#PAGE_FAULTS}, and in other modes. */
    public PageFaultStacks pageFaults() {
        return faults;
    }

    /** The kernel frames' reader, or null when the session did not ask for kernel frames. */
    public KernelFrames kernel() {
        return kernel;
    }

    /** The native frames' merger, or null when the session reads Python frames only. */
    public NativeFrames natives() {
        return natives;
    }

    @Override
    public void close() {
        if (memory != null) {
            memory.close();
        }
        if (faults != null) {
            faults.close();
        }
        if (natives != null) {
            natives.close();
        }
        if (kernel != null) {
            kernel.close();
        }
        target.close();
    }
}
