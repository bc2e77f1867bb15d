package dev.spyglass;

import java.util.List;
import java.util.Objects;

/**
 * One {@code asyncio} task of a thread's running event loop, as {@link PythonProcess#asyncTasks()} read
 * it (CPython 3.8+; see docs/asyncio-tasks.md for the versions).
 *
 * @param id             the task object's address in the target: identifies the task within one look, and
 *                       names it in {@link #awaitedBy}
 * @param name           {@code Task.get_name()}: the name given to {@code create_task(..., name=...)}, or
 *                       {@code Task-N}; never null
 * @param nativeThreadId the kernel thread id of the thread whose event loop runs the task (as in
 *                       {@link ThreadStack#nativeThreadId()}), -1 when unknown
 * @param running        the task is the one its loop runs at this moment ({@code asyncio.current_task()});
 *                       the others wait
 * @param frames         the task's await chain, innermost first: for a waiting task the coroutine frames
 *                       from the innermost awaited coroutine (its await point) out to the task's own
 *                       coroutine; for the running task its thread's Python frames down to the task's
 *                       coroutine. Empty when the coroutine has finished
 * @param awaitedBy      the ids of the tasks that await this one (its callers: {@code await task}, a
 *                       {@code gather}, a {@code TaskGroup}); empty for a task no task awaits
 */
public record AsyncTask(long id, String name, long nativeThreadId, boolean running, List<Frame> frames,
        List<Long> awaitedBy) {

    /** @throws NullPointerException when {@code name}, {@code frames} or {@code awaitedBy} is null */
    public AsyncTask {
        Objects.requireNonNull(name, "name");
        frames = List.copyOf(frames);
        awaitedBy = List.copyOf(awaitedBy);
    }
}
