package dev.spyglass;

import java.util.List;
import java.util.Objects;

/**
 * One thread's stack at one tick of a {@link SamplingSession}: the {@link ThreadStack} read, when,
 * and how much time it stands for. The thread's values are also offered here directly
 * ({@link #threadName()}, {@link #frames()}, ...), as exporters use them.
 *
 * @param thread         the thread and its stack; never null
 * @param timestampNanos when the sample was taken, nanoseconds since the Unix epoch
 * @param weightNanos    how much time this sample stands for, in nanoseconds, never negative. In
 *                       {@link SamplingMode#WALL}: the time that really passed since the same thread's
 *                       previous sample (measured between the ticks' monotonic times), so that a
 *                       thread's weights add up to the time it was observed even when the sampler falls
 *                       behind and skips ticks; a thread's first sample weighs one interval; the time of
 *                       a torn sample goes to the thread's next good one; one weight is at most 10
 *                       intervals or 1 s, whichever is larger (a longer gap means the thread was not
 *                       observed, e.g. the sampler was stopped). In {@link SamplingMode#CPU}: the
 *                       sampling interval (only threads running at the tick are reported, each standing
 *                       for one interval of CPU time); in {@link SamplingMode#GIL} too. In
 *                       {@link SamplingMode#MEMORY} not a time but a number of bytes: the change of the
 *                       process's resident memory since the previous reading (a release when the outermost
 *                       frame is {@link Frame#MEMORY_RELEASED}); the name predates the memory mode
 */
public record StackSample(ThreadStack thread, long timestampNanos, long weightNanos) implements ProfileEvent {

    /** @throws NullPointerException when {@code thread} is null */
    public StackSample {
        Objects.requireNonNull(thread, "thread");
    }

    /** The process id; see {@link ThreadStack#pid()}. */
    @Override
    public long pid() {
        return thread.pid();
    }

    /** The kernel thread id, -1 when unknown; see {@link ThreadStack#nativeThreadId()}. */
    public long nativeThreadId() {
        return thread.nativeThreadId();
    }

    /** The thread's start time in clock ticks after boot, -1 when unknown; see {@link ThreadStack#threadStartTime()}. */
    public long threadStartTime() {
        return thread.threadStartTime();
    }

    /** The Python thread ident; see {@link ThreadStack#pythonThreadId()}. */
    public long pythonThreadId() {
        return thread.pythonThreadId();
    }

    /** The thread's name, never null; see {@link ThreadStack#threadName()}. */
    public String threadName() {
        return thread.threadName();
    }

    /** The (sub-)interpreter id, 0 for the main interpreter; see {@link ThreadStack#interpreterId()}. */
    public long interpreterId() {
        return thread.interpreterId();
    }

    /** Whether the thread was running at the tick, when known; see {@link ThreadStack#state()}. */
    public ThreadState state() {
        return thread.state();
    }

    /** Whether the thread held the GIL, {@code null} when unknown; see {@link ThreadStack#gilHeld()}. */
    public Boolean gilHeld() {
        return thread.gilHeld();
    }

    /** The stack, innermost frame first, possibly empty; see {@link ThreadStack#frames()}. */
    public List<Frame> frames() {
        return thread.frames();
    }
}
