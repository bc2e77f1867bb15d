package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.AsyncTask;
import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Reads the {@code asyncio} tasks of one thread's running event loop on CPython 3.8 – 3.13, which keep no
 * per-thread task list (that came in 3.14, {@link AsyncTaskReader}): the tasks are found where
 * {@code asyncio.all_tasks()} finds them, through {@code sys.modules["asyncio.tasks"]}: the {@code WeakSet}
 * {@code _all_tasks} (3.8 – 3.11) or {@code _scheduled_tasks} plus the {@code set} {@code _eager_tasks} (3.12,
 * 3.13), the objects the C module registers its tasks in. A {@code WeakSet}'s {@code data} is a {@code set}
 * of weak references, whose referent is {@code wr_object}. The module's namespace is used rather than the
 * {@code _asyncio} module's C state because it needs no symbols (Debian strips them) and the same walk in
 * every version; its objects live as long as the module, so they are found once and kept.
 *
 * <p>A task belongs to the thread running its loop ({@code fut_loop}): the loop's {@code _thread_id}
 * (set by {@code run_forever}) must be the thread's ident; the running task is {@code _current_tasks[loop]}.
 * Only pending tasks of type {@code _asyncio.Task} are shown (what {@code all_tasks} returns minus
 * subclasses). Who awaits whom: {@link AwaitLinks}.
 *
 * <p>A set changed while read, a pointer that cannot be read or a name that does not decode gives null
 * ({@link #tornReason()}), never made-up tasks. Bounded by {@link AsyncTaskReader#MAX_TASKS} tasks. Not
 * thread-safe.
 */
final class ModuleTaskReader {
    private static final long TPFLAGS_LONG_SUBCLASS = 1L << 24;
    private static final int MAX_SET_TABLE = 1 << 16;
    private static final long LOCATE_EVERY_NANOS = 1_000_000_000L;
    private static final int LOOKUP_AGAIN_AFTER_TORN = 16;
    private static final long CLEAR_TYPES_EVERY_NANOS = 1_000_000_000L;
    /** TaskObj: {@code fut_callback0} and {@code fut_callbacks} (3.8 – 3.13; after the loop at 16). */
    private static final long CALLBACK0 = 24;
    private static final long CALLBACKS = 40;
    /** Tasks are not immortal (3.12+ mark those in the low 32 bits): a live task has fewer references. */
    private static final long MAX_REFCNT = 1L << 31;

    private final RemoteMemory memory;
    private final Layout layout;
    private final TaskObjectLayout task;
    private final RemoteObjects objects;
    private final RemoteDicts dicts;
    private final InstanceAttributes attributes;
    private final TaskNames names;
    private final AwaitChains chains;
    private final AwaitLinks links;
    private final boolean oneWeakSet;
    private final long typeAt;
    private final long flagsAt;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment taskBuf;
    private final MemorySegment small = arena.allocate(64, 8);
    private final RemoteDicts.Entries current = new RemoteDicts.Entries();
    /** The containers of {@code asyncio.tasks}, found once: weak sets' {@code data} sets, plain sets, the dict. */
    private long weakSetData;
    private long eagerSet;
    private long currentTasks;
    /** {@code _asyncio.Task}, once a candidate's type was checked by name and size. */
    private long taskType;
    private String tornReason;
    /** When {@code sys.modules} may be looked at again while {@code asyncio.tasks} is not found; 0 at first. */
    private long nextLocate;
    private int tornInARow;
    private long attributesClearedAt = System.nanoTime();

    ModuleTaskReader(RemoteMemory memory, StackReader reader, TaskObjectLayout task) {
        this.memory = memory;
        this.layout = reader.interpreter().layout();
        this.task = task;
        this.objects = new RemoteObjects(memory, layout, new StringDecoder(layout, 256), 256);
        this.dicts = new RemoteDicts(memory, layout, objects);
        this.attributes = new InstanceAttributes(memory, layout, dicts, objects);
        this.names = new TaskNames(memory, layout, objects);
        this.chains = CoroutineChains.supports(layout) ? new CoroutineChains(memory, reader)
                : new FrameObjectChains(memory, reader);
        this.links = new AwaitLinks(memory, layout, objects, attributes);
        // 3.8 - 3.11 register tasks in the one WeakSet _all_tasks; 3.12 split off eager tasks.
        this.oneWeakSet = !layout.version().isAtLeast(3, 12);
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.flagsAt = layout.require(Field.TYPE_FLAGS);
        this.taskBuf = arena.allocate(task.size(), 8);
    }

    /** Whether {@code layout} has what this reader needs (3.8 – 3.13 default builds). */
    static boolean supports(Layout layout) {
        return TaskObjectLayout.of(layout.version()).isPresent()
                && (CoroutineChains.supports(layout) || FrameObjectChains.supports(layout))
                && layout.has(Field.SET_TABLE) && layout.has(Field.INTERP_MODULES) && layout.has(Field.MODULE_DICT)
                && layout.has(Field.TYPE_DICTOFFSET) && layout.has(Field.TYPE_BASICSIZE);
    }

    String tornReason() {
        return tornReason;
    }

    /**
     * The tasks of the loop thread {@code t} runs: empty when it runs none (or {@code asyncio} is not
     * imported), null when torn. The running task's frames are its coroutine's own.
     */
    List<AsyncTask> read(ThreadRecord t) throws SpyglassException {
        tornReason = null;
        long now = System.nanoTime();
        if (now - attributesClearedAt > CLEAR_TYPES_EVERY_NANOS) {
            // Heap types (the loop's class, WeakSet) are kept a second at most: a freed type's address
            // could be another's later.
            attributes.clear();
            attributesClearedAt = now;
        }
        try {
            if (!located(t.threadStateAddress())) {
                return List.of();
            }
            List<Long> candidates = new ArrayList<>();
            members(weakSetData, true, candidates);
            if (eagerSet != 0) {
                members(eagerSet, false, candidates);
            }
            // Pending tasks of this thread's loop, each with its waiter.
            Map<Long, Long> loopThread = new HashMap<>();
            Map<Long, long[]> mine = new LinkedHashMap<>();
            long myLoop = 0;
            for (long c : candidates) {
                if (!isTask(c)) {
                    continue;
                }
                memory.read(c, taskBuf);
                if (!alive()) {
                    continue; // freed since its weak reference was read: no longer a task
                }
                if (taskBuf.get(ValueLayout.JAVA_INT, task.state()) != 0) {
                    continue; // done or cancelled, still referenced: all_tasks() leaves it out too
                }
                long loop = taskBuf.get(ValueLayout.JAVA_LONG, task.loop());
                Long ident = loopThread.get(loop);
                if (ident == null) {
                    ident = loopThreadIdent(loop);
                    loopThread.put(loop, ident);
                }
                if (ident != t.pythonThreadId()) {
                    continue;
                }
                myLoop = loop;
                mine.put(c, new long[] {taskBuf.get(ValueLayout.JAVA_LONG, task.name()),
                        taskBuf.get(ValueLayout.JAVA_LONG, task.coro()),
                        taskBuf.get(ValueLayout.JAVA_LONG, task.futWaiter()), loop,
                        taskBuf.get(ValueLayout.JAVA_LONG, CALLBACK0), taskBuf.get(ValueLayout.JAVA_LONG, CALLBACKS)});
            }
            if (mine.isEmpty()) {
                return List.of();
            }
            long running = runningTask(myLoop);
            Map<Long, Long> waiters = new LinkedHashMap<>();
            Map<Long, long[]> callbacks = new HashMap<>();
            for (Map.Entry<Long, long[]> e : mine.entrySet()) {
                waiters.put(e.getKey(), e.getValue()[2]);
                callbacks.put(e.getKey(), new long[] {e.getValue()[4], e.getValue()[5]});
            }
            Map<Long, List<Long>> awaitedBy = new HashMap<>();
            links.link(waiters, callbacks, awaitedBy);
            List<AsyncTask> out = new ArrayList<>(mine.size());
            for (Map.Entry<Long, long[]> e : mine.entrySet()) {
                long[] f = e.getValue();
                String name = names.name(f[0]);
                List<Frame> frames = f[1] == 0 ? List.of() : chains.read(f[1]);
                if (frames == null) {
                    tornReason = chains.tornReason();
                    return null;
                }
                out.add(new AsyncTask(e.getKey(), name, t.nativeThreadId(), e.getKey() == running, frames,
                        awaitedBy.getOrDefault(e.getKey(), List.of())));
            }
            // A task that finished while its name and chain were read may have had them freed and reused
            // (seen on 3.11 - 3.13 with tasks created and finished all the time: a name read as "result"):
            // each task must still be the same pending task after it was read, else the tree is torn.
            for (Map.Entry<Long, long[]> e : mine.entrySet()) {
                long[] f = e.getValue();
                memory.read(e.getKey(), taskBuf);
                if (!alive() || taskBuf.get(ValueLayout.JAVA_LONG, typeAt) != taskType
                        || taskBuf.get(ValueLayout.JAVA_INT, task.state()) != 0
                        || taskBuf.get(ValueLayout.JAVA_LONG, task.name()) != f[0]
                        || taskBuf.get(ValueLayout.JAVA_LONG, task.coro()) != f[1]
                        || taskBuf.get(ValueLayout.JAVA_LONG, task.loop()) != f[3]) {
                    tornReason = "task 0x" + Long.toHexString(e.getKey()) + " finished while it was read";
                    return null;
                }
            }
            tornInARow = 0;
            return out;
        } catch (MemoryFault | MalformedObjectException e) {
            tornReason = e.getMessage();
            if (++tornInARow >= LOOKUP_AGAIN_AFTER_TORN) {
                // Sets change under the reader all the time; so many torn reads in a row may rather mean a
                // container was replaced (asyncio.tasks reloaded): look them up again.
                weakSetData = 0;
                nextLocate = 0;
                tornInARow = 0;
            }
            return null;
        }
    }

    /** Finds {@code asyncio.tasks}' containers once; false while the module is not imported. */
    private boolean located(long tstate) throws MemoryFault, MalformedObjectException, SpyglassException {
        if (weakSetData != 0) {
            return true;
        }
        long now = System.nanoTime();
        if (nextLocate != 0 && now - nextLocate < 0) {
            return false;
        }
        // sys.modules is walked at most once a second while asyncio is not imported (or being imported).
        nextLocate = now + LOCATE_EVERY_NANOS;
        long interp = pointer(tstate + layout.require(Field.TSTATE_INTERP));
        long modules = pointer(interp + layout.require(Field.INTERP_MODULES));
        if (!dicts.knowsDictType() && !dicts.learnDictType(pointer(modules + typeAt))) {
            throw new MalformedObjectException("interp->modules is not a dict");
        }
        long module = dicts.lookup(modules, "asyncio.tasks");
        if (module == 0) {
            return false;
        }
        long md = pointer(module + layout.require(Field.MODULE_DICT));
        long weakSet = dicts.lookup(md, oneWeakSet ? "_all_tasks" : "_scheduled_tasks");
        long eager = oneWeakSet ? 0 : dicts.lookup(md, "_eager_tasks");
        long cur = dicts.lookup(md, "_current_tasks");
        if (weakSet == 0 || cur == 0 || !dicts.isDict(cur) || (!oneWeakSet && eager == 0)) {
            return false; // being imported: its names are not all bound yet
        }
        long data = RemoteObjects.checkedPointer(attributes.get(weakSet, "data"));
        eagerSet = eager;
        currentTasks = cur;
        weakSetData = data;
        return true;
    }

    /** The keys of the set at {@code set} (the referents of its weak references when {@code weak}). */
    private void members(long set, boolean weak, List<Long> into)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        MemorySegment head = small.asSlice(0, layout.require(Field.SET_TABLE) + 8);
        memory.read(RemoteObjects.checkedPointer(set), head);
        long used = head.get(ValueLayout.JAVA_LONG, layout.require(Field.SET_USED));
        long mask = head.get(ValueLayout.JAVA_LONG, layout.require(Field.SET_MASK));
        long table = head.get(ValueLayout.JAVA_LONG, layout.require(Field.SET_TABLE));
        if (mask < 0 || mask >= MAX_SET_TABLE || ((mask + 1) & mask) != 0 || used < 0 || used > mask + 1) {
            throw new MalformedObjectException("task set 0x" + Long.toHexString(set) + " has mask " + mask);
        }
        if (used + into.size() > AsyncTaskReader.MAX_TASKS) {
            throw new MalformedObjectException("more than " + AsyncTaskReader.MAX_TASKS + " tasks");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment entries = a.allocate((mask + 1) * 16, 8);
            memory.read(RemoteObjects.checkedPointer(table), entries);
            for (long i = 0; i <= mask; i++) {
                long key = entries.get(ValueLayout.JAVA_LONG, i * 16);
                // A removed entry keeps the set's dummy key with hash -1, which no object's hash is.
                if (key == 0 || entries.get(ValueLayout.JAVA_LONG, i * 16 + 8) == -1) {
                    continue;
                }
                // PyWeakReference: the object header, then wr_object (Py_None once the task is freed).
                into.add(weak ? memory.readLong(RemoteObjects.checkedPointer(key) + typeAt + 8) : key);
            }
        }
    }

    /**
     * Checks the reference count just read into the task buffer: a freed object's first word is the
     * allocator's free-list link (an address, or NULL), never a live task's count.
     */
    private boolean alive() {
        long refcnt = taskBuf.get(ValueLayout.JAVA_LONG, 0);
        return refcnt >= 1 && refcnt <= MAX_REFCNT;
    }

    /** Whether {@code p} is an {@code _asyncio.Task} (its type checked by name and size once). */
    private boolean isTask(long p) throws MemoryFault, MalformedObjectException, SpyglassException {
        if (p == 0 || (p & 7) != 0) {
            return false;
        }
        long type = memory.readLong(RemoteObjects.checkedPointer(p) + typeAt);
        if (type == taskType) {
            return true;
        }
        if (taskType != 0 || type == 0 || (type & 7) != 0) {
            return false;
        }
        if (!"_asyncio.Task".equals(objects.typeName(type, 32))) {
            return false;
        }
        long basicSize = memory.readLong(type + layout.require(Field.TYPE_BASICSIZE));
        if (basicSize != task.size()) {
            throw new MalformedObjectException("_asyncio.Task is " + basicSize + " bytes, not the "
                    + task.size() + " of CPython " + layout.version() + "'s TaskObj");
        }
        taskType = type;
        return true;
    }

    /** The ident of the thread running the loop at {@code loop} ({@code loop._thread_id}), or 0 when none. */
    private long loopThreadIdent(long loop) throws MemoryFault, MalformedObjectException, SpyglassException {
        long v = loop == 0 ? 0 : attributes.get(RemoteObjects.checkedPointer(loop), "_thread_id");
        return v == 0 ? 0 : smallInt(v);
    }

    /** The non-negative int at {@code p} below 2^60, or 0 when it is not an int (None: the loop is stopped). */
    private long smallInt(long p) throws MemoryFault, MalformedObjectException, SpyglassException {
        long type = RemoteObjects.checkedPointer(memory.readLong(RemoteObjects.checkedPointer(p) + typeAt));
        if ((memory.readLong(type + flagsAt) & TPFLAGS_LONG_SUBCLASS) == 0) {
            return 0;
        }
        long digits;
        long at;
        MemorySegment b = small.asSlice(0, 40);
        memory.read(p, b);
        if (layout.has(Field.LONG_TAG)) {
            // 3.12+: lv_tag = digit count << 3 | sign (0 positive, 1 zero, 2 negative).
            long tag = b.get(ValueLayout.JAVA_LONG, layout.offset(Field.LONG_TAG));
            digits = (tag & 3) == 2 ? -1 : tag >>> 3;
            at = layout.offset(Field.LONG_DIGITS);
        } else {
            // 3.8 - 3.11: PyObject_VAR_HEAD whose ob_size is the signed digit count, then ob_digit[].
            digits = b.get(ValueLayout.JAVA_LONG, layout.require(Field.VAROBJECT_SIZE));
            at = layout.require(Field.VAROBJECT_SIZE) + 8;
        }
        if (digits < 0 || digits > 2) {
            return 0;
        }
        long value = 0;
        for (int i = (int) digits - 1; i >= 0; i--) {
            value = (value << 30) | (b.get(ValueLayout.JAVA_INT, at + 4L * i) & 0x3fff_ffffL);
        }
        return value;
    }

    /** {@code _current_tasks[loop]}: the task running on the loop at {@code loop}, or 0. */
    private long runningTask(long loop) throws MemoryFault, MalformedObjectException, SpyglassException {
        dicts.entries(currentTasks, current);
        for (int i = 0; i < current.count; i++) {
            if (current.keys[i] == loop) {
                return current.values[i];
            }
        }
        return 0;
    }

    private long pointer(long at) throws MemoryFault, MalformedObjectException, SpyglassException {
        return RemoteObjects.checkedPointer(memory.readLong(at));
    }
}
