package dev.spyglass.internal.python;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.AsyncTask;
import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;

/**
 * {@code asyncio} task stacks of a target: the tasks of each thread's running event loop
 * ({@link AsyncTaskReader}), and the stacks a sample shows for them. The running task's stack is its
 * thread's Python stack with a {@link Frame#asyncTask} marker put under the task's own coroutine frame,
 * followed by the await chain of each task awaiting it (its frames, its marker), and then the thread's
 * remaining frames (the event loop's). A waiting task that awaits no other task (a leaf of the tree) gets
 * a stack of its own in wall mode: its await chain, its marker and its awaiters' chains.
 *
 * <p>Supported where the target has the {@code _asyncio} module's debug offsets (CPython 3.14+), and on
 * 3.8 - 3.13 through {@code sys.modules} ({@link ModuleTaskReader}). Elsewhere
 * {@link #unavailable()} says why, once in the log; the Python stacks are unchanged. Not thread-safe.
 */
public final class AsyncTaskStacks {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncTaskStacks.class);
    /** How often the section is looked for while {@code asyncio} is not imported yet. */
    private static final long LOCATE_EVERY_NANOS = 1_000_000_000L;

    private final Target target;
    private String unavailable;
    private AsyncTaskReader reader;
    /** The reader of 3.8 - 3.13, which find tasks through {@code sys.modules}; null on 3.14+. */
    private ModuleTaskReader moduleReader;
    private long nextLocate;
    /** Written by the sampling thread only; read by others. */
    private volatile long tornTrees;

    public AsyncTaskStacks(Target target) {
        this.target = target;
        var v = target.interpreter().version();
        var layout = target.interpreter().layout();
        if (AsyncTaskReader.supports(layout)) {
            unavailable = null;
        } else if (ModuleTaskReader.supports(layout)) {
            unavailable = null;
            moduleReader = new ModuleTaskReader(target.memory(), target.reader(),
                    TaskObjectLayout.of(v).orElseThrow());
        } else {
            unavailable = "asyncio task stacks need CPython 3.8 - 3.13 (default builds, read through "
                    + "sys.modules) or 3.14 and later (the _asyncio module's AsyncioDebug offsets); this is CPython "
                    + v + (v.freeThreaded() ? " (free-threaded)" : "") + ": sampling Python stacks only";
            LOG.debug("{}", unavailable);
        }
    }

    /** Why task stacks cannot be read in this target, or empty when they can. */
    public Optional<String> unavailable() {
        return Optional.ofNullable(unavailable);
    }

    /** Task trees dropped because the target changed them while they were read. */
    public long tornTrees() {
        return tornTrees;
    }

    /**
     * The tasks of the thread {@code t} (read in the latest look, whose stack is {@code stack}): empty when
     * the thread runs no event loop (or task stacks are unavailable), null when the tree was torn (counted).
     * The running task's frames are the thread's, down to the task's coroutine.
     */
    public List<AsyncTask> tasks(ThreadRecord t, ThreadStack stack) throws SpyglassException {
        if (unavailable != null || t.threadStateAddress() == 0 || (moduleReader == null && !located())) {
            return List.of();
        }
        List<AsyncTask> tasks = moduleReader != null ? moduleReader.read(t)
                : reader.read(t.threadStateAddress(), t.nativeThreadId());
        if (tasks == null) {
            tornTrees = tornTrees + 1;
            LOG.debug("torn asyncio task tree of thread {}: {}", t.nativeThreadId(),
                    moduleReader != null ? moduleReader.tornReason() : reader.tornReason());
            return null;
        }
        for (int i = 0; i < tasks.size(); i++) {
            AsyncTask task = tasks.get(i);
            if (task.running()) {
                int k = taskFrameIndex(stack.frames(), task);
                if (k >= 0) {
                    tasks.set(i, new AsyncTask(task.id(), task.name(), task.nativeThreadId(), true,
                            stack.frames().subList(0, k + 1), task.awaitedBy()));
                }
            }
        }
        return tasks;
    }

    /**
     * The stacks one look at thread {@code t} gives: {@code stack} with the running task's markers, and in
     * wall mode one more per waiting leaf task, each to {@code out}. A torn tree (counted) gives
     * {@code stack} unchanged.
     */
    public void stacks(ThreadRecord t, ThreadStack stack, boolean wall, Consumer<ThreadStack> out)
            throws SpyglassException {
        List<AsyncTask> tasks = tasks(t, stack);
        if (tasks == null || tasks.isEmpty()) {
            out.accept(stack);
            return;
        }
        compose(tasks, stack, wall, out);
    }

    /**
     * The stacks of {@link #stacks} for the tasks read at one look of a thread whose stack is {@code stack}:
     * {@code stack} with the running task's markers, then (wall mode) one per waiting leaf task.
     */
    static void compose(List<AsyncTask> tasks, ThreadStack stack, boolean wall, Consumer<ThreadStack> out) {
        Map<Long, AsyncTask> byId = new HashMap<>(tasks.size() * 2);
        for (AsyncTask task : tasks) {
            byId.put(task.id(), task);
        }
        ThreadStack threadStack = stack;
        for (AsyncTask task : tasks) {
            if (task.running()) {
                int k = taskFrameIndex(stack.frames(), task);
                if (k >= 0) {
                    List<Frame> frames = new ArrayList<>(stack.frames().size() + 8);
                    frames.addAll(stack.frames().subList(0, k + 1));
                    appendMarkersAndAwaiters(task, byId, frames);
                    frames.addAll(stack.frames().subList(k + 1, stack.frames().size()));
                    threadStack = withFrames(stack, frames);
                }
            }
        }
        out.accept(threadStack);
        if (!wall) {
            return;
        }
        // A task awaits another when it is among that one's awaiters: those are not leaves.
        java.util.Set<Long> awaiting = new java.util.HashSet<>();
        for (AsyncTask task : tasks) {
            awaiting.addAll(task.awaitedBy());
        }
        for (AsyncTask task : tasks) {
            if (!task.running() && !awaiting.contains(task.id())) {
                List<Frame> frames = new ArrayList<>(task.frames().size() + 8);
                frames.addAll(task.frames());
                appendMarkersAndAwaiters(task, byId, frames);
                out.accept(withFrames(stack, frames));
            }
        }
    }

    /** {@code <task NAME>} of {@code task}, then each awaiter's chain and marker, out to a task no task awaits. */
    private static void appendMarkersAndAwaiters(AsyncTask task, Map<Long, AsyncTask> byId, List<Frame> frames) {
        frames.add(Frame.asyncTask(task.name()));
        AsyncTask at = task;
        // Bounded by the tree's size: a cycle of awaiters (torn, or a program awaiting in a circle) stops.
        for (int steps = 0; steps < byId.size() && !at.awaitedBy().isEmpty(); steps++) {
            AsyncTask parent = byId.get(at.awaitedBy().get(0));
            if (parent == null) {
                break;
            }
            frames.addAll(parent.frames());
            frames.add(Frame.asyncTask(parent.name()));
            at = parent;
        }
    }

    /**
     * Where the running task's own coroutine is in its thread's stack (innermost first): the outermost frame
     * of that coroutine's function, since the event loop's frames lie below it and the task's calls above; -1
     * when it is not there (the task just switched).
     */
    private static int taskFrameIndex(List<Frame> stack, AsyncTask task) {
        if (task.frames().isEmpty()) {
            return -1;
        }
        Frame own = task.frames().get(task.frames().size() - 1);
        for (int i = stack.size() - 1; i >= 0; i--) {
            Frame f = stack.get(i);
            if (f.kind() == Frame.FrameKind.PYTHON && f.qualifiedName().equals(own.qualifiedName())
                    && f.file().equals(own.file()) && f.firstLine() == own.firstLine()) {
                return i;
            }
        }
        return -1;
    }

    private static ThreadStack withFrames(ThreadStack s, List<Frame> frames) {
        return new ThreadStack(s.pid(), s.nativeThreadId(), s.threadStartTime(), s.pythonThreadId(), s.threadName(),
                s.interpreterId(), s.state(), s.gilHeld(), frames);
    }

    /** Reads the {@code _asyncio} offsets once they are mapped (looked for at most once a second). */
    private boolean located() throws SpyglassException {
        if (reader != null) {
            return true;
        }
        long now = System.nanoTime();
        if (nextLocate != 0 && now - nextLocate < 0) {
            return false;
        }
        nextLocate = now + LOCATE_EVERY_NANOS;
        Optional<AsyncioOffsets> offsets;
        try {
            offsets = AsyncioOffsets.locate(target.pid(), target.memory());
        } catch (IllegalStateException e) {
            // A section that is not a task layout (a build whose struct changed): Python stacks only, said once.
            unavailable = "asyncio task stacks unavailable: " + e.getMessage() + "; sampling Python stacks only";
            LOG.warn("{}", unavailable);
            return false;
        }
        if (offsets.isPresent()) {
            LOG.debug("asyncio debug offsets of process {} from {}", target.pid(), offsets.get().source());
            reader = new AsyncTaskReader(target.memory(), target.reader(), offsets.get());
        }
        return reader != null;
    }
}
