package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Which task awaits which on CPython 3.8 – 3.13, whose tasks do not record their awaiters (3.14's
 * {@code task_awaited_by}). A task A waits on one future, its {@code task_fut_waiter} W, and a task T is
 * awaited by A when:
 * <ul>
 * <li>W is T ({@code await T});
 * <li>W is a {@code gather} future and T is among its {@code _children};
 * <li>one of T's done callbacks is a closure holding W: {@code asyncio.wait}'s {@code _on_completion}
 * (its {@code waiter}), {@code gather}'s {@code _done_callback} ({@code outer}), {@code shield}'s
 * ({@code outer});
 * <li>one of T's done callbacks is a bound method of an object whose {@code _parent_task} is A
 * ({@code TaskGroup._on_task_done}).
 * </ul>
 * A task's callbacks are {@code fut_callback0} and the {@code fut_callbacks} list of (callback, context)
 * tuples. Offsets not in the layouts are those of the C structs (checked with gdb on pyenv's builds):
 * {@code PyFunctionObject.func_closure} 48 (3.8, 3.9) or 72 (3.10+), {@code PyMethodObject.im_self} 24,
 * {@code PyCellObject.ob_ref} 16, a tuple's or list's items after {@code PyObject_VAR_HEAD} (24). Not
 * thread-safe.
 */
final class AwaitLinks {
    private static final long TPFLAGS_LIST_SUBCLASS = 1L << 25;
    private static final long TPFLAGS_TUPLE_SUBCLASS = 1L << 26;
    private static final long METHOD_SELF = 24;
    private static final long CELL_REF = 16;
    private static final long TPFLAGS_HEAPTYPE = 1L << 9;
    private static final int MAX_CACHED_TYPES = 64;
    private static final int MAX_ITEMS = 4096;

    private final RemoteMemory memory;
    private final RemoteObjects objects;
    private final InstanceAttributes attributes;
    private final long typeAt;
    private final long flagsAt;
    private final long sizeAt;
    private final long itemsAt;
    /** {@code PyFunctionObject.func_closure}: 48 in 3.8, 3.9; 72 from 3.10 (after the common fields). */
    private final long funcClosure;
    /** The static {@code function} and {@code method} types, once seen by name. */
    private long functionType;
    private long methodType;
    private final java.util.Set<Long> otherTypes = new java.util.HashSet<>();
    private final Map<Long, Long> staticFlags = new java.util.HashMap<>();

    AwaitLinks(RemoteMemory memory, Layout layout, RemoteObjects objects, InstanceAttributes attributes) {
        this.memory = memory;
        this.objects = objects;
        this.attributes = attributes;
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.flagsAt = layout.require(Field.TYPE_FLAGS);
        this.sizeAt = layout.require(Field.VAROBJECT_SIZE);
        this.itemsAt = sizeAt + 8;
        this.funcClosure = layout.version().isAtLeast(3, 10) ? 72 : 48;
    }

    /**
     * Fills {@code awaitedBy} (task → the tasks awaiting it) for the tasks of {@code waiters} (task → its
     * {@code task_fut_waiter}, 0 when none), whose {@code fut_callback0} and {@code fut_callbacks} are in
     * {@code callbacks} (as read with the task).
     */
    void link(Map<Long, Long> waiters, Map<Long, long[]> callbacks, Map<Long, List<Long>> awaitedBy)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        for (Map.Entry<Long, Long> e : waiters.entrySet()) {
            long a = e.getKey();
            long w = e.getValue();
            if (w == 0) {
                continue;
            }
            if (waiters.containsKey(w)) {
                add(awaitedBy, w, a);
            } else {
                long children = attributes.get(RemoteObjects.checkedPointer(w), "_children");
                if (children != 0 && hasFlag(children, TPFLAGS_LIST_SUBCLASS)) {
                    for (long child : items(children)) {
                        if (waiters.containsKey(child)) {
                            add(awaitedBy, child, a);
                        }
                    }
                }
            }
        }
        for (long t : waiters.keySet()) {
            long[] cbs = callbacks.get(t);
            long cb0 = cbs[0];
            if (cb0 != 0) {
                fromCallback(t, cb0, waiters, awaitedBy);
            }
            long list = cbs[1];
            if (list != 0 && hasFlag(list, TPFLAGS_LIST_SUBCLASS)) {
                for (long pair : items(list)) {
                    if (hasFlag(pair, TPFLAGS_TUPLE_SUBCLASS)) {
                        long[] p = items(pair);
                        if (p.length > 0) {
                            fromCallback(t, p[0], waiters, awaitedBy);
                        }
                    }
                }
            }
        }
    }

    /** Records the task that {@code t}'s done callback {@code cb} tells to be awaiting {@code t}. */
    private void fromCallback(long t, long cb, Map<Long, Long> waiters, Map<Long, List<Long>> awaitedBy)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        long type = RemoteObjects.checkedPointer(memory.readLong(RemoteObjects.checkedPointer(cb) + typeAt));
        if ((functionType == 0 || methodType == 0) && type != functionType && type != methodType
                && !otherTypes.contains(type)) {
            String name = objects.typeName(type, 16);
            if (name.equals("function")) {
                functionType = type;
            } else if (name.equals("method")) {
                methodType = type;
            } else if ((flags(type) & TPFLAGS_HEAPTYPE) == 0 && otherTypes.size() < MAX_CACHED_TYPES) {
                otherTypes.add(type); // a static type (task_wakeup's builtin method, ...): never freed
            }
        }
        if (type == functionType) {
            long closure = memory.readLong(cb + funcClosure);
            if (closure == 0 || !hasFlag(closure, TPFLAGS_TUPLE_SUBCLASS)) {
                return;
            }
            for (long cell : items(closure)) {
                long v = cell == 0 ? 0 : memory.readLong(RemoteObjects.checkedPointer(cell) + CELL_REF);
                if (v == 0) {
                    continue;
                }
                for (Map.Entry<Long, Long> e : waiters.entrySet()) {
                    if (e.getValue() == v && e.getKey() != t) {
                        add(awaitedBy, t, e.getKey());
                    }
                }
            }
        } else if (type == methodType) {
            long self = memory.readLong(cb + METHOD_SELF);
            long parent = self == 0 ? 0 : attributes.get(RemoteObjects.checkedPointer(self), "_parent_task");
            if (parent != t && waiters.containsKey(parent)) {
                add(awaitedBy, t, parent);
            }
        }
    }

    private static void add(Map<Long, List<Long>> awaitedBy, long task, long awaiter) {
        List<Long> by = awaitedBy.computeIfAbsent(task, k -> new ArrayList<>(2));
        if (!by.contains(awaiter)) {
            by.add(awaiter);
        }
    }

    private boolean hasFlag(long obj, long flag) throws MemoryFault, MalformedObjectException, SpyglassException {
        long type = RemoteObjects.checkedPointer(memory.readLong(RemoteObjects.checkedPointer(obj) + typeAt));
        return (flags(type) & flag) != 0;
    }

    /** {@code tp_flags} of {@code type}, kept for static types (list, tuple, ...: never freed). */
    private long flags(long type) throws MemoryFault, SpyglassException {
        Long known = staticFlags.get(type);
        if (known != null) {
            return known;
        }
        long flags = memory.readLong(type + flagsAt);
        if ((flags & TPFLAGS_HEAPTYPE) == 0 && staticFlags.size() < MAX_CACHED_TYPES) {
            staticFlags.put(type, flags);
        }
        return flags;
    }

    /** The items of the list or tuple at {@code seq} (a list's in its {@code ob_item} array). */
    private long[] items(long seq) throws MemoryFault, MalformedObjectException, SpyglassException {
        long size = memory.readLong(seq + sizeAt);
        if (size < 0 || size > MAX_ITEMS) {
            throw new MalformedObjectException("sequence 0x" + Long.toHexString(seq) + " of " + size + " items");
        }
        if (size == 0) {
            return new long[0];
        }
        boolean list = hasFlag(seq, TPFLAGS_LIST_SUBCLASS);
        long at = list ? RemoteObjects.checkedPointer(memory.readLong(seq + itemsAt)) : seq + itemsAt;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size * 8, 8);
            memory.read(at, s);
            return s.toArray(ValueLayout.JAVA_LONG);
        }
    }
}
