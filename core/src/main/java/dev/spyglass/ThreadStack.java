package dev.spyglass;

import java.util.List;
import java.util.Objects;

/**
 * One thread's stack as Spyglass read it: an entry of a {@link PythonProcess#snapshot()}, and the
 * thread a {@link StackSample} is of.
 *
 * @param pid            the process id (in the caller's PID namespace)
 * @param nativeThreadId the kernel thread id (TID) in the caller's PID namespace, like {@code pid}: for
 *                       a target in a container its host TID, not the id it sees itself; -1 when it
 *                       could not be determined (see {@link PythonProcess} for how it is found on
 *                       CPython 3.10 and older)
 * @param pythonThreadId the Python thread ident ({@code threading.get_ident()}, the {@code pthread_t})
 * @param threadName     the thread's name in Python's {@code threading} registry ({@code Thread.name},
 *                       full length; a sampler re-reads it when a new thread appears and every second),
 *                       else the kernel's ({@code /proc/PID/task/TID/comm}, at most 15 bytes), else
 *                       {@code "thread-<ident>"} when the TID is unknown; never null
 * @param interpreterId  the (sub-)interpreter id, 0 for the main interpreter (and always 0 on 2.7/3.6); -1
 *                       for a thread with no Python thread state, sampled for its native frames only
 *                       ({@link Sampler.Builder#nativeFramesOfAllThreads}), whose {@code pythonThreadId} is 0
 * @param state          the kernel's run state when the stack was read; never null
 * @param gilHeld        {@code TRUE}/{@code FALSE} whether this thread held the GIL; {@code null} when
 *                       unknown or the build has no GIL
 * @param frames         the stack, innermost frame first (like {@link Throwable#getStackTrace()});
 *                       empty for a thread running no Python code
 */
public record ThreadStack(long pid, long nativeThreadId, long threadStartTime, long pythonThreadId, String threadName,
        long interpreterId, ThreadState state, Boolean gilHeld, List<Frame> frames) {

    /** @throws NullPointerException when {@code threadName}, {@code state} or {@code frames} is null */
    public ThreadStack {
        Objects.requireNonNull(threadName, "threadName");
        Objects.requireNonNull(state, "state");
        frames = List.copyOf(frames);
    }

    /** A thread whose start time is unknown ({@code threadStartTime} -1). */
    public ThreadStack(long pid, long nativeThreadId, long pythonThreadId, String threadName, long interpreterId,
            ThreadState state, Boolean gilHeld, List<Frame> frames) {
        this(pid, nativeThreadId, -1, pythonThreadId, threadName, interpreterId, state, gilHeld, frames);
    }
}
