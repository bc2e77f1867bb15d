package dev.spyglass;

import java.util.List;
import java.util.Objects;

/**
 * One thread's stack in a {@link PythonProcess#snapshot()}.
 *
 * @param pid            the process id (in the caller's PID namespace)
 * @param nativeThreadId the kernel thread id (TID) in the caller's PID namespace: for a target in a
 *                       container its host TID, not the id it sees itself; -1 when it could not be
 *                       determined (see
 *                       {@link PythonProcess} for how it is found on CPython 3.10 and older)
 * @param pythonThreadId the Python thread ident ({@code threading.get_ident()}, the {@code pthread_t})
 * @param threadName     the thread's name in Python's {@code threading} registry ({@code Thread.name},
 *                       full length), else the kernel's ({@code /proc/PID/task/TID/comm}, at most 15
 *                       bytes), else {@code "thread-<ident>"} when the TID is unknown; never null
 * @param interpreterId  the (sub-)interpreter id, 0 for the main interpreter (and always 0 on 2.7/3.6)
 * @param state          the kernel's run state when the snapshot was taken
 * @param gilHeld        whether this thread held the GIL; {@code null} when unknown
 * @param frames         the stack, innermost frame first; empty for a thread running no Python code
 */
public record ThreadStack(long pid, long nativeThreadId, long pythonThreadId, String threadName, long interpreterId,
        ThreadState state, Boolean gilHeld, List<Frame> frames) {

    public ThreadStack {
        Objects.requireNonNull(threadName, "threadName");
        Objects.requireNonNull(state, "state");
        frames = List.copyOf(frames);
    }
}
