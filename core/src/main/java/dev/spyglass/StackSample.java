package dev.spyglass;

import java.util.List;
import java.util.Objects;

/**
 * One thread's stack at one moment.
 *
 * @param pid             the process id (in the sampler's PID namespace)
 * @param nativeThreadId  the kernel thread id (TID) in the sampler's PID namespace, like {@code pid}: for
 *                        a target in a container its host TID, not the id it sees itself; -1 when the
 *                        version does not record it and it could not be found
 * @param pythonThreadId  the Python thread id ({@code threading.get_ident()}, a {@code pthread_t})
 * @param threadName      the thread's name: from Python's {@code threading} registry when known (re-read
 *                        when a new thread appears and every second), else the kernel's {@code comm},
 *                        else {@code "thread-<ident>"}; never null
 * @param interpreterId   the (sub-)interpreter id, 0 for the main interpreter
 * @param timestampNanos  when the sample was taken, nanoseconds since the Unix epoch
 * @param weightNanos     how much time this sample stands for: the sampling interval in WALL mode; in
 *                        CPU mode too: only threads running at the tick are reported there, each
 *                        standing for one interval of CPU time
 * @param state           running or idle, when known
 * @param gilHeld         {@code TRUE}/{@code FALSE} whether this thread held the GIL, {@code null} when
 *                        unknown or the build has no GIL
 * @param frames          the stack, innermost frame first (like {@link Throwable#getStackTrace()});
 *                        may be empty for a thread that runs no Python code
 */
public record StackSample(long pid, long nativeThreadId, long pythonThreadId, String threadName, long interpreterId,
        long timestampNanos, long weightNanos, ThreadState state, Boolean gilHeld, List<Frame> frames) {

    public StackSample {
        Objects.requireNonNull(threadName, "threadName");
        Objects.requireNonNull(state, "state");
        frames = List.copyOf(frames);
    }
}
