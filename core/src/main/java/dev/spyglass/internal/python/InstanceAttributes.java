package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Reads one attribute of a Python object out of its instance {@code __dict__}, wherever the version keeps
 * it: at {@code tp_dictoffset} (every version; a subclass of a C type with a dict slot, such as
 * {@code _asyncio.Future}); 3.11+ a managed dict before the object ({@code Py_TPFLAGS_MANAGED_DICT}), or
 * only its values, keyed by the type's shared keys ({@code ht_cached_keys}): 3.11 keeps a values pointer
 * before the dict pointer, 3.12 one tagged word ({@code PyDictOrValues}), 3.13+ the values inline after
 * the object ({@code Py_TPFLAGS_INLINE_VALUES}). {@link ThreadNames} reads a thread's {@code _name} with it,
 * the asyncio task reader a WeakSet's {@code data} and a loop's {@code _thread_id}. Returns 0 when the
 * attribute is not there. Not thread-safe.
 */
final class InstanceAttributes {
    private record TypeInfo(long flags, long basicSize, long dictOffset, long cachedKeys) {
    }

    private static final int MAX_CACHED = 256;
    private static final long TPFLAGS_HEAPTYPE = 1L << 9;

    private final RemoteMemory memory;
    private final Layout layout;
    private final RemoteDicts dicts;
    private final RemoteObjects objects;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment header = arena.allocate(1024, 8);
    private final RemoteDicts.Entries inner = new RemoteDicts.Entries();
    /** Heap types can be freed and their addresses reused: the caches are per {@link #clear()} period. */
    private final Map<Long, TypeInfo> types = new HashMap<>();
    private final Map<String, Integer> keyIndex = new HashMap<>();

    InstanceAttributes(RemoteMemory memory, Layout layout, RemoteDicts dicts, RemoteObjects objects) {
        this.memory = memory;
        this.layout = layout;
        this.dicts = dicts;
        this.objects = objects;
    }

    /** Forgets the types seen (call once per look: a heap type may be freed between looks). */
    void clear() {
        types.clear();
        keyIndex.clear();
    }

    /** The value of {@code name} in the instance dict of {@code obj}, or 0 when it has none. */
    long get(long obj, String name) throws MemoryFault, MalformedObjectException, SpyglassException {
        TypeInfo type = typeInfo(RemoteObjects.checkedPointer(memory.readLong(obj + layout.require(Field.OBJECT_TYPE))));
        long managed = layout.has(Field.CONST_TPFLAGS_MANAGED_DICT) ? layout.offset(Field.CONST_TPFLAGS_MANAGED_DICT) : 0;
        long dict = 0;
        long values = 0;
        if ((type.flags & managed) != 0) {
            long word = memory.readLong(obj - layout.require(Field.CONST_MANAGED_DICT_BEFORE));
            if (layout.has(Field.CONST_MANAGED_VALUES_BEFORE)) {
                // 3.11: the dict pointer, and before it the values pointer.
                dict = word;
                values = dict == 0 ? memory.readLong(obj - layout.offset(Field.CONST_MANAGED_VALUES_BEFORE)) : 0;
            } else if (!layout.has(Field.CONST_TPFLAGS_INLINE_VALUES)) {
                // 3.12: PyDictOrValues, values tagged as (pointer - 1).
                if ((word & 1) != 0) {
                    values = word + 1;
                } else {
                    dict = word;
                }
            } else {
                dict = word;
                if (dict == 0 && (type.flags & layout.offset(Field.CONST_TPFLAGS_INLINE_VALUES)) != 0
                        && type.basicSize > 0 && type.basicSize < 4096) {
                    // 3.13+: inline values after the object; header {capacity, size, embedded, valid}.
                    long at = obj + type.basicSize;
                    memory.read(at, header.asSlice(0, 8));
                    if (header.get(ValueLayout.JAVA_BYTE, 3) != 0) {
                        values = at;
                    }
                }
            }
        } else if (type.dictOffset > 0 && type.dictOffset < 4096) {
            dict = memory.readLong(obj + type.dictOffset);
        }
        if (dict != 0) {
            return dicts.lookup(RemoteObjects.checkedPointer(dict), name);
        }
        if (values != 0 && type.cachedKeys != 0) {
            int idx = indexInKeys(type.cachedKeys, name);
            if (idx >= 0) {
                return memory.readLong(RemoteObjects.checkedPointer(values)
                        + layout.require(Field.DICTVALUES_VALUES) + 8L * idx);
            }
        }
        return 0;
    }

    /** Where {@code name} is in a shared keys object, or -1. */
    private int indexInKeys(long keys, String name) throws MemoryFault, MalformedObjectException, SpyglassException {
        String cacheKey = Long.toHexString(keys) + ":" + name;
        Integer idx = keyIndex.get(cacheKey);
        if (idx == null) {
            idx = -1;
            dicts.keysEntries(RemoteObjects.checkedPointer(keys), 0, inner);
            for (int i = 0; i < inner.count; i++) {
                if (inner.keys[i] != 0 && name.equals(objects.stringOrNull(inner.keys[i], name.length()))) {
                    idx = i;
                    break;
                }
            }
            if (keyIndex.size() >= MAX_CACHED) {
                keyIndex.clear();
            }
            keyIndex.put(cacheKey, idx);
        }
        return idx;
    }

    private TypeInfo typeInfo(long type) throws MemoryFault, MalformedObjectException, SpyglassException {
        TypeInfo info = types.get(type);
        if (info == null) {
            long end = Math.max(layout.require(Field.TYPE_FLAGS), layout.require(Field.TYPE_DICTOFFSET)) + 8;
            long cachedAt = layout.has(Field.HEAPTYPE_CACHED_KEYS) ? layout.offset(Field.HEAPTYPE_CACHED_KEYS) : -1;
            end = Math.max(end, cachedAt + 8);
            // A static type (not a heap type) is shorter than PyHeapTypeObject: read what is mapped.
            long got = memory.readPartial(type, header.asSlice(0, end));
            if (got < layout.require(Field.TYPE_DICTOFFSET) + 8) {
                throw new MemoryFault(type, end, got);
            }
            long flags = header.get(ValueLayout.JAVA_LONG, layout.require(Field.TYPE_FLAGS));
            long cached = cachedAt >= 0 && got >= cachedAt + 8 && (flags & TPFLAGS_HEAPTYPE) != 0
                    ? header.get(ValueLayout.JAVA_LONG, cachedAt) : 0;
            info = new TypeInfo(flags, header.get(ValueLayout.JAVA_LONG, layout.require(Field.TYPE_BASICSIZE)),
                    header.get(ValueLayout.JAVA_LONG, layout.require(Field.TYPE_DICTOFFSET)), cached);
            if (types.size() >= MAX_CACHED) {
                types.clear();
            }
            types.put(type, info);
        }
        return info;
    }
}
