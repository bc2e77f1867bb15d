package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.spyglass.AsyncTask;
import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Reads the {@code asyncio} tasks of one thread's running event loop (CPython 3.14+), through the
 * {@code _asyncio} module's {@link AsyncioOffsets}: the thread state's running loop and running task,
 * its list of tasks ({@code struct llist_node} links inside each {@code TaskObj}), and per task its name,
 * the tasks awaiting it ({@code task_awaited_by}: one object or a set) and its coroutine's await chain.
 *
 * <p>A coroutine holds its frame inline ({@code gi_iframe}); when it is suspended in an {@code await} of
 * another coroutine ({@code FRAME_SUSPENDED_YIELD_FROM}) the awaited one sits on top of its value stack,
 * and is followed while it has the same type (an awaited Future or other iterator ends the chain). The
 * slot moved: {@code stackpointer[-1]} in 3.14, {@code stackpointer[-2]} in 3.15; both are tried, the
 * version's first, and only a slot holding a coroutine is taken.
 *
 * <p>The target keeps running while this reads, so a tree can be torn: a list that does not come back to
 * its head, a cycle, more than {@link #MAX_TASKS} tasks, a pointer that cannot be read, a name that does
 * not decode. A torn tree is reported as null by {@link #read}, never with made-up tasks. Walks are bounded:
 * {@link #MAX_TASKS} tasks per thread, {@link #MAX_AWAIT_DEPTH} coroutines per chain. Not thread-safe.
 */
final class AsyncTaskReader {
    /** More tasks on one thread than this is taken for a corrupt list (pstree stops at 65,536). */
    static final int MAX_TASKS = 4096;
    /** Coroutines in one task's await chain; deeper is taken for a cycle. */
    static final int MAX_AWAIT_DEPTH = 256;
    private static final int MAX_SET_TABLE = 1 << 16;

    private final RemoteMemory memory;
    private final AsyncioOffsets offsets;
    private final RemoteObjects objects;
    private final TaskNames names;
    private final long typeAt;
    private final long genIframe;
    private final long genFrameState;
    private final long iframeExecutable;
    private final long iframeInstr;
    private final long iframeStackpointer;
    private final long tagMask;
    private final long llistNext;
    private final long setUsed;
    private final long setMask;
    private final long setTable;
    private final boolean is315;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment taskBuf;
    private final MemorySegment genBuf;
    private final MemorySegment small = arena.allocate(64, 8);
    private final VisitedSet visited = new VisitedSet();
    private final AwaitChainFrames chainFrames;
    /** {@link #read} found a list or object that changed under it. */
    private String tornReason;

    AsyncTaskReader(RemoteMemory memory, StackReader reader, AsyncioOffsets offsets) {
        this.memory = memory;
        this.chainFrames = new AwaitChainFrames(reader);
        this.offsets = offsets;
        Layout layout = reader.interpreter().layout();
        PythonVersion v = layout.version();
        this.objects = new RemoteObjects(memory, layout, new StringDecoder(layout, 256), 256);
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.genIframe = layout.require(Field.GEN_IFRAME);
        this.genFrameState = layout.require(Field.GEN_FRAME_STATE);
        this.iframeExecutable = layout.require(Field.IFRAME_EXECUTABLE);
        this.iframeInstr = layout.require(Field.IFRAME_INSTR_PTR);
        this.iframeStackpointer = layout.require(Field.IFRAME_STACKPOINTER);
        this.tagMask = layout.has(Field.CONST_STACKREF_TAG_MASK) ? layout.offset(Field.CONST_STACKREF_TAG_MASK) : 0;
        this.llistNext = layout.require(Field.LLIST_NEXT);
        this.names = new TaskNames(memory, layout, objects);
        this.setUsed = layout.require(Field.SET_USED);
        this.setMask = layout.require(Field.SET_MASK);
        this.setTable = layout.require(Field.SET_TABLE);
        this.is315 = v.isAtLeast(3, 15);
        this.taskBuf = arena.allocate(offsets.taskSize(), 8);
        long frameEnd = Math.max(Math.max(iframeExecutable, iframeInstr), iframeStackpointer) + 8;
        this.genBuf = arena.allocate(Math.max(genIframe + frameEnd, genFrameState + 1), 8);
    }

    /** Whether {@code reader}'s layout has what this reader needs (3.14+ debug offsets). */
    static boolean supports(Layout layout) {
        return layout.has(Field.GEN_IFRAME) && layout.has(Field.LLIST_NEXT) && layout.has(Field.IFRAME_STACKPOINTER)
                && layout.has(Field.SET_TABLE) && layout.has(Field.LONG_DIGITS);
    }

    /** Why the latest {@link #read} returned null for a torn tree, or null. */
    String tornReason() {
        return tornReason;
    }

    /**
     * The tasks of the thread whose state is at {@code tstate}: empty when the thread runs no event loop,
     * null when the tree was torn ({@link #tornReason()}). The running task's frames are its coroutine's
     * own (the caller replaces them with the thread's stack).
     */
    List<AsyncTask> read(long tstate, long nativeThreadId) throws SpyglassException {
        tornReason = null;
        try {
            long loop = memory.readLong(tstate + offsets.runningLoop());
            if (loop == 0) {
                return List.of();
            }
            long running = memory.readLong(tstate + offsets.runningTask());
            long head = tstate + offsets.tstateTasksHead();
            long[] tasks = listTasks(head);
            if (tasks == null) {
                return null;
            }
            List<AsyncTask> out = new ArrayList<>(tasks.length);
            for (long task : tasks) {
                AsyncTask t = readTask(task, tasks, task == running, nativeThreadId);
                if (t == null) {
                    return null;
                }
                out.add(t);
            }
            return out;
        } catch (MemoryFault | MalformedObjectException e) {
            tornReason = e.getMessage();
            return null;
        }
    }

    /** The task addresses on the list at {@code head}, or null when it does not close. */
    private long[] listTasks(long head) throws MemoryFault, SpyglassException {
        visited.clear();
        long[] tasks = new long[16];
        int n = 0;
        long node = memory.readLong(head + llistNext);
        while (node != head) {
            if (node == 0 || (node & 7) != 0 || !visited.add(node)) {
                tornReason = node == 0 ? "task list broken (NULL link)" : "task list loops without its head";
                return null;
            }
            if (n == MAX_TASKS) {
                tornReason = "more than " + MAX_TASKS + " tasks on one thread";
                return null;
            }
            if (n == tasks.length) {
                tasks = Arrays.copyOf(tasks, n * 2);
            }
            tasks[n++] = node - offsets.taskNode();
            node = memory.readLong(node + llistNext);
        }
        return Arrays.copyOf(tasks, n);
    }

    private AsyncTask readTask(long task, long[] all, boolean running, long tid)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        memory.read(task, taskBuf);
        if (taskBuf.get(ValueLayout.JAVA_BYTE, offsets.taskIsTask()) != 1) {
            // Every object on the list is a Task (task_is_task 1): anything else is a task freed under the reader.
            throw new MalformedObjectException("object 0x" + Long.toHexString(task)
                    + " on the task list is not a task");
        }
        long namePtr = taskBuf.get(ValueLayout.JAVA_LONG, offsets.taskName());
        long coro = taskBuf.get(ValueLayout.JAVA_LONG, offsets.taskCoro());
        long awaitedBy = taskBuf.get(ValueLayout.JAVA_LONG, offsets.taskAwaitedBy());
        boolean awaitedBySet = taskBuf.get(ValueLayout.JAVA_BYTE, offsets.taskAwaitedByIsSet()) != 0;
        String name = names.name(namePtr);
        List<Frame> frames = coro == 0 ? List.of() : coroutineChain(coro);
        if (frames == null) {
            return null;
        }
        List<Long> awaiters = new ArrayList<>(2);
        if (awaitedBy != 0) {
            if (awaitedBySet) {
                setMembers(awaitedBy, all, awaiters);
            } else if (contains(all, awaitedBy)) {
                awaiters.add(awaitedBy);
            }
        }
        return new AsyncTask(task, name, tid, running, frames, awaiters);
    }

    /** The frames of the coroutine at {@code coro} and of those it awaits, innermost first; null when torn. */
    private List<Frame> coroutineChain(long coro) throws MemoryFault, MalformedObjectException, SpyglassException {
        chainFrames.start();
        long coroType = 0;
        for (long c = coro; c != 0;) {
            if (!chainFrames.enter(c)) {
                tornReason = chainFrames.tornReason();
                return null;
            }
            RemoteObjects.checkedPointer(c);
            memory.read(c, genBuf);
            long type = genBuf.get(ValueLayout.JAVA_LONG, typeAt);
            if (coroType == 0) {
                coroType = type;
            }
            int state = genBuf.get(ValueLayout.JAVA_BYTE, genFrameState);
            if (finished(state)) {
                break;
            }
            chainFrames.add(genBuf.get(ValueLayout.JAVA_LONG, genIframe + iframeExecutable) & ~tagMask,
                    genBuf.get(ValueLayout.JAVA_LONG, genIframe + iframeInstr));
            c = yieldFrom(state) ? awaited(genBuf.get(ValueLayout.JAVA_LONG, genIframe + iframeStackpointer), coroType)
                    : 0;
        }
        List<Frame> frames = chainFrames.frames(false);
        if (frames == null) {
            tornReason = chainFrames.tornReason();
        }
        return frames;
    }

    /** The coroutine on top of a suspended frame's value stack ({@code stackpointer}), or 0 when none. */
    private long awaited(long stackpointer, long coroType) throws MemoryFault, SpyglassException {
        stackpointer &= ~tagMask;
        if (stackpointer == 0 || (stackpointer & 7) != 0 || stackpointer < 16) {
            return 0;
        }
        MemorySegment two = small.asSlice(0, 16);
        memory.read(stackpointer - 16, two);
        long top = two.get(ValueLayout.JAVA_LONG, 8) & ~tagMask;
        long below = two.get(ValueLayout.JAVA_LONG, 0) & ~tagMask;
        long first = is315 ? below : top;
        long second = is315 ? top : below;
        for (long p : new long[] {first, second}) {
            if (AwaitChainFrames.isCoroutine(memory, p, typeAt, coroType)) {
                return p;
            }
        }
        return 0;
    }

    /**
     * {@code gi_frame_state} of a finished coroutine: 3.14 {@code FRAME_COMPLETED} 1 or {@code FRAME_CLEARED} 4;
     * 3.15 {@code FRAME_CLEARED} 5.
     */
    private boolean finished(int state) {
        return is315 ? state >= 5 : state >= 1;
    }

    /** {@code FRAME_SUSPENDED_YIELD_FROM}: 3.14 -1; 3.15 2, or 3 ({@code ..._LOCKED}). */
    private boolean yieldFrom(int state) {
        return is315 ? state == 2 || state == 3 : state == -1;
    }

    /** The members of the set at {@code set} that are tasks of {@code all}, into {@code into}. */
    private void setMembers(long set, long[] all, List<Long> into)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        RemoteObjects.checkedPointer(set);
        MemorySegment head = small.asSlice(0, Math.max(Math.max(setUsed, setMask), setTable) + 8);
        memory.read(set, head);
        long used = head.get(ValueLayout.JAVA_LONG, setUsed);
        long mask = head.get(ValueLayout.JAVA_LONG, setMask);
        long table = head.get(ValueLayout.JAVA_LONG, setTable);
        if (mask < 0 || mask >= MAX_SET_TABLE || used < 0 || used > mask + 1) {
            throw new MalformedObjectException("awaited_by set 0x" + Long.toHexString(set) + " has mask " + mask);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment entries = a.allocate((mask + 1) * 16, 8);
            memory.read(RemoteObjects.checkedPointer(table), entries);
            for (long i = 0; i <= mask; i++) {
                long key = entries.get(ValueLayout.JAVA_LONG, i * 16);
                if (key != 0 && contains(all, key) && !into.contains(key)) {
                    into.add(key);
                }
            }
        }
    }

    private static boolean contains(long[] all, long v) {
        for (long a : all) {
            if (a == v) {
                return true;
            }
        }
        return false;
    }
}
