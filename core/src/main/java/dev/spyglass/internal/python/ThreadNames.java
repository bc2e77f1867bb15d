package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.cpython.abi.StringHeader;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Thread names as Python knows them: {@code threading._active} (ident → {@code Thread}) of each
 * interpreter, read from {@code sys.modules} ({@code interp->modules}) → {@code "threading"} →
 * {@code md_dict} → {@code "_active"}, then each {@code Thread}'s {@code _name} ({@code _Thread__name} on
 * 2.7) from its instance {@code __dict__}: a real dict (≤3.10, or once materialised), or on 3.11+ values
 * shared with the class's cached keys (3.11: a values pointer before the object; 3.12: a tagged
 * {@code PyDictOrValues} before it; 3.13+: inline values after {@code tp_basicsize}).
 *
 * <p>Cheap in steady state: a look-up costs two hash-map probes and a clock read. The registry is re-read
 * when a thread ident not seen before appears (at most every {@value #MIN_GAP_MILLIS} ms) and every
 * {@value #REFRESH_MILLIS} ms (so renames show within a second); the address of {@code _active} is kept
 * between refreshes and checked to still be a dict. Everything read is bounded (table sizes, thread count,
 * name length) and checked; whatever fails leaves the thread without a name here (the caller falls back to
 * the kernel's name) and never throws. Before {@code threading} is imported (a script that never
 * imports it) there is no registry, and every thread, the main one included, keeps its kernel name.
 */
final class ThreadNames {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadNames.class);

    static final long REFRESH_MILLIS = 1000;
    static final long MIN_GAP_MILLIS = 20;
    private static final long REFRESH_NANOS = REFRESH_MILLIS * 1_000_000L;
    private static final long MIN_GAP_NANOS = MIN_GAP_MILLIS * 1_000_000L;
    /** sys.modules of a large application holds a few thousand modules. */
    private static final int MAX_ENTRIES = 1 << 16;
    private static final int MAX_THREADS = 4096;
    private static final int MAX_NAME_CHARS = 512;
    private static final int MAX_ABSENT = 1024;
    private static final long PY_TPFLAGS_STRING_SUBCLASS = 1L << 27;
    private static final long PY_TPFLAGS_UNICODE_SUBCLASS = 1L << 28;

    /** One interpreter's registry. */
    private static final class Registry {
        long active;
        long lastRefresh = Long.MIN_VALUE / 2;
        long lastResolve = Long.MIN_VALUE / 2;
        LongMap<String> names = new LongMap<>(16);
        final LongMap<Boolean> absent = new LongMap<>(16);
        /**
         * ident → the thread (kernel TID, else thread-state address) a name was last given to. glibc
         * hands a joined thread's pthread_t, Python's ident, to the next thread it starts.
         */
        final LongMap<Long> owners = new LongMap<>(16);
    }

    /** A dict's entries, valid until the next {@link #entries} call into the same instance. */
    private static final class Entries {
        long[] hashes = new long[64];
        long[] keys = new long[64];
        long[] values = new long[64];
        int count;

        void ensure(int n) {
            if (hashes.length < n) {
                hashes = new long[n];
                keys = new long[n];
                values = new long[n];
            }
        }
    }

    private record TypeInfo(long flags, long basicSize, long dictOffset, long cachedKeys) {
    }

    private final long pid;
    private final RemoteMemory memory;
    private final Layout layout;
    private final StringDecoder strings;
    private final boolean py2;
    private final String nameKey;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment header = arena.allocate(1024, 8);
    private final MemorySegment stringBuf = arena.allocate(256, 8);
    private MemorySegment table = arena.allocate(4096, 8);
    private final Entries outer = new Entries();
    private final Entries inner = new Entries();
    private final LongMap<Registry> registries = new LongMap<>(8);
    /** {@code PyDict_Type} in the target, once one dict's type was checked by name. */
    private long dictType;
    /** Per refresh: decoded types and the index of {@link #nameKey} in shared keys objects. */
    private LongMap<TypeInfo> types = new LongMap<>(8);
    private LongMap<Integer> keyIndex = new LongMap<>(8);
    private long refreshes;

    ThreadNames(long pid, RemoteMemory memory, Layout layout, StringDecoder strings) {
        this.pid = pid;
        this.memory = memory;
        this.layout = layout;
        this.strings = strings;
        this.py2 = layout.version().major() == 2;
        // 2.7's Thread.__init__ sets self.__name, mangled to _Thread__name.
        this.nameKey = py2 ? "_Thread__name" : "_name";
    }

    /** How many times a registry was (re)read, for tests and benchmarks. */
    long refreshes() {
        return refreshes;
    }

    /**
     * The {@code threading} name of {@code t}, or null when the registry does not name it (the caller
     * then uses the kernel's name).
     */
    String name(ThreadRecord t) {
        long ident = t.pythonThreadId;
        long key = t.interpreterId + 1;
        if (ident == 0 || key == 0 || !layout.has(Field.MODULE_DICT) || !layout.has(Field.INTERP_MODULES)) {
            return null;
        }
        Registry reg = registries.get(key);
        if (reg == null) {
            if (registries.size() > 64) {
                registries.clear();
            }
            reg = new Registry();
            registries.put(key, reg);
        }
        String n = reg.names.get(ident);
        long now = System.nanoTime();
        long since = now - reg.lastRefresh;
        long who = t.nativeThreadId > 0 ? t.nativeThreadId : t.tstate;
        Long owner = reg.owners.get(ident);
        boolean reused = owner != null && owner != who;
        if (reused) {
            // A new thread under a known ident: the cached name is its predecessor's.
            reg.owners.put(ident, null);
            reg.absent.put(ident, null);
            n = null;
        }
        if (since > REFRESH_NANOS || (n == null && since > MIN_GAP_NANOS && reg.absent.get(ident) == null)) {
            refresh(reg, t, now);
            n = reg.names.get(ident);
            if (n == null) {
                if (reg.absent.size() >= MAX_ABSENT) {
                    reg.absent.clear();
                }
                reg.absent.put(ident, Boolean.TRUE);
            }
        } else if (reused) {
            // Too soon to read the registry again: the kernel's name rather than the predecessor's.
            return null;
        }
        if (n != null && (owner == null || reused)) {
            // Only when it changes: boxing the owner at every look would allocate on the sampling path.
            if (reg.owners.size() >= MAX_THREADS) {
                reg.owners.clear();
            }
            reg.owners.put(ident, who);
        }
        return n;
    }

    private void refresh(Registry reg, ThreadRecord t, long now) {
        reg.lastRefresh = now;
        refreshes++;
        types = types.size() > 0 ? new LongMap<>(8) : types;
        keyIndex = keyIndex.size() > 0 ? new LongMap<>(8) : keyIndex;
        try {
            if (reg.active != 0 && !isDict(reg.active)) {
                reg.active = 0;
            }
            if (reg.active == 0) {
                // Walking sys.modules costs a read per module: at most once per refresh period.
                if (now - reg.lastResolve < REFRESH_NANOS) {
                    return;
                }
                reg.lastResolve = now;
                reg.active = resolve(t);
                if (reg.active == 0) {
                    return;
                }
            }
            LongMap<String> fresh = new LongMap<>(Math.max(16, reg.names.size() * 2));
            entries(reg.active, outer);
            int n = Math.min(outer.count, MAX_THREADS);
            long[] idents = new long[n];
            long[] threads = new long[n];
            System.arraycopy(outer.hashes, 0, idents, 0, n);
            System.arraycopy(outer.values, 0, threads, 0, n);
            for (int i = 0; i < n; i++) {
                // hash(int) is the int itself below 2**61 - 1, and pthread_t values are addresses.
                if (idents[i] == 0 || idents[i] == -1) {
                    continue;
                }
                try {
                    String name = threadName(threads[i]);
                    if (name != null) {
                        fresh.put(idents[i], name);
                    }
                } catch (MemoryFault | MalformedObjectException e) {
                    // This Thread ended (or its dict was resized) while we read: the others still count.
                    LOG.debug("process {}: name of thread {} not read ({})", pid, idents[i], e.toString());
                }
            }
            reg.names = fresh;
        } catch (MemoryFault | MalformedObjectException | SpyglassException | RuntimeException e) {
            // Torn read (a dict resized while we read it) or the process is exiting: keep the names
            // found before, look again at the next refresh.
            LOG.debug("process {}: threading registry not read ({})", pid, e.toString(), e);
            reg.active = 0;
            reg.lastResolve = Long.MIN_VALUE / 2;
        }
    }

    /** {@code threading._active} of {@code t}'s interpreter, or 0 when {@code threading} is not imported. */
    private long resolve(ThreadRecord t) throws MemoryFault, MalformedObjectException, SpyglassException {
        long interp = pointer(t.tstate + layout.require(Field.TSTATE_INTERP));
        long modules = pointer(interp + layout.require(Field.INTERP_MODULES));
        if (dictType == 0) {
            long type = pointer(modules + layout.require(Field.OBJECT_TYPE));
            if (!"dict".equals(typeName(type))) {
                throw new MalformedObjectException("interp->modules is not a dict");
            }
            dictType = type;
        }
        long module = lookup(modules, "threading");
        if (module == 0) {
            LOG.debug("process {}: threading not imported (yet)", pid);
            return 0;
        }
        long md = pointer(module + layout.require(Field.MODULE_DICT));
        long active = lookup(md, "_active");
        return active != 0 && isDict(active) ? active : 0;
    }

    /** The name of the {@code Thread} at {@code thread}, or null. */
    private String threadName(long thread) throws MemoryFault, MalformedObjectException, SpyglassException {
        long typeAddr = pointer(thread + layout.require(Field.OBJECT_TYPE));
        TypeInfo type = typeInfo(typeAddr);
        long value = 0;
        long managed = layout.has(Field.CONST_TPFLAGS_MANAGED_DICT) ? layout.offset(Field.CONST_TPFLAGS_MANAGED_DICT) : 0;
        if ((type.flags & managed) != 0) {
            long before = layout.require(Field.CONST_MANAGED_DICT_BEFORE);
            long word = memory.readLong(thread - before);
            long dict = 0;
            long values = 0;
            if (layout.has(Field.CONST_MANAGED_VALUES_BEFORE)) {
                // 3.11: the dict pointer, and before it the values pointer.
                dict = word;
                values = dict == 0 ? memory.readLong(thread - layout.offset(Field.CONST_MANAGED_VALUES_BEFORE)) : 0;
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
                    long at = thread + type.basicSize;
                    memory.read(at, header.asSlice(0, 8));
                    if (header.get(ValueLayout.JAVA_BYTE, 3) != 0) {
                        values = at;
                    }
                }
            }
            if (dict != 0) {
                value = lookup(checkedPointer(dict), nameKey);
            } else if (values != 0 && type.cachedKeys != 0) {
                int idx = indexInKeys(type.cachedKeys);
                if (idx >= 0) {
                    value = memory.readLong(checkedPointer(values) + layout.require(Field.DICTVALUES_VALUES) + 8L * idx);
                }
            }
        } else if (type.dictOffset > 0 && type.dictOffset < 4096) {
            long dict = memory.readLong(thread + type.dictOffset);
            if (dict != 0) {
                value = lookup(checkedPointer(dict), nameKey);
            }
        }
        if (value == 0 || (value & 7) != 0) {
            return null;
        }
        long flags = typeInfo(pointer(value + layout.require(Field.OBJECT_TYPE))).flags;
        if ((flags & (py2 ? PY_TPFLAGS_STRING_SUBCLASS : PY_TPFLAGS_UNICODE_SUBCLASS)) == 0) {
            return null;
        }
        return readString(value);
    }

    /** Where {@link #nameKey} is in a shared keys object, or -1. */
    private int indexInKeys(long keys) throws MemoryFault, MalformedObjectException, SpyglassException {
        Integer idx = keyIndex.get(keys);
        if (idx == null) {
            idx = -1;
            keysEntries(checkedPointer(keys), 0, inner);
            for (int i = 0; i < inner.count; i++) {
                if (inner.keys[i] != 0 && nameKey.equals(readStringOrNull(inner.keys[i], nameKey.length()))) {
                    idx = i;
                    break;
                }
            }
            keyIndex.put(keys, idx);
        }
        return idx;
    }

    private TypeInfo typeInfo(long type) throws MemoryFault, MalformedObjectException, SpyglassException {
        TypeInfo info = types.get(checkedPointer(type));
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
            long cached = cachedAt >= 0 && got >= cachedAt + 8 ? header.get(ValueLayout.JAVA_LONG, cachedAt) : 0;
            info = new TypeInfo(flags, header.get(ValueLayout.JAVA_LONG, layout.require(Field.TYPE_BASICSIZE)),
                    header.get(ValueLayout.JAVA_LONG, layout.require(Field.TYPE_DICTOFFSET)), cached);
            types.put(type, info);
        }
        return info;
    }

    private String typeName(long type) throws MemoryFault, SpyglassException {
        // type is a checked pointer (see resolve).
        long name = memory.readLong(type + layout.require(Field.TYPE_NAME));
        long got = memory.readPartial(name, stringBuf.asSlice(0, 16));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < got; i++) {
            byte b = stringBuf.get(ValueLayout.JAVA_BYTE, i);
            if (b == 0) {
                return sb.toString();
            }
            sb.append((char) (b & 0xff));
        }
        return sb.toString();
    }

    private boolean isDict(long address) throws MemoryFault, SpyglassException {
        return (address & 7) == 0 && address != 0
                && memory.readLong(address + layout.require(Field.OBJECT_TYPE)) == dictType && dictType != 0;
    }

    /** The value under the string key {@code key} in the dict at {@code dict}, or 0. */
    private long lookup(long dict, String key) throws MemoryFault, MalformedObjectException, SpyglassException {
        Entries e = dict == 0 ? null : inner;
        if (e == null) {
            return 0;
        }
        entries(dict, e);
        for (int i = 0; i < e.count; i++) {
            if (e.values[i] != 0 && key.equals(readStringOrNull(e.keys[i], key.length()))) {
                return e.values[i];
            }
        }
        return 0;
    }

    /** Reads the live entries of the dict at {@code dict} into {@code out}. */
    private void entries(long dict, Entries out) throws MemoryFault, MalformedObjectException, SpyglassException {
        out.count = 0;
        if (dictType != 0 && !isDict(dict)) {
            throw new MalformedObjectException("0x" + Long.toHexString(dict) + " is not a dict");
        }
        // 48 bytes hold a default build's PyDictObject (2.7's up to ma_table); a free-threaded build's
        // 32-byte object header puts ma_values at 56.
        memory.read(dict, header.asSlice(0, py2 ? 48 : layout.require(Field.DICT_VALUES) + 8));
        if (py2) {
            long mask = header.get(ValueLayout.JAVA_LONG, layout.require(Field.DICT27_MASK));
            long tableAt = header.get(ValueLayout.JAVA_LONG, layout.require(Field.DICT27_TABLE));
            if (mask < 7 || mask >= 2L * MAX_ENTRIES || Long.bitCount(mask + 1) != 1) {
                throw new MalformedObjectException("2.7 dict mask " + mask);
            }
            int n = (int) mask + 1;
            MemorySegment t = tableBuffer(24L * n);
            memory.read(checkedPointer(tableAt), t);
            out.ensure(n);
            for (int i = 0; i < n; i++) {
                long k = t.get(ValueLayout.JAVA_LONG, 24L * i + 8);
                long v = t.get(ValueLayout.JAVA_LONG, 24L * i + 16);
                if (k != 0 && v != 0) {
                    out.hashes[out.count] = t.get(ValueLayout.JAVA_LONG, 24L * i);
                    out.keys[out.count] = k;
                    out.values[out.count] = v;
                    out.count++;
                }
            }
            return;
        }
        long keys = header.get(ValueLayout.JAVA_LONG, layout.require(Field.DICT_KEYS));
        long values = header.get(ValueLayout.JAVA_LONG, layout.require(Field.DICT_VALUES));
        keysEntries(checkedPointer(keys), values == 0 ? 0 : checkedPointer(values), out);
    }

    /**
     * Reads every entry of a keys object, deleted ones included (key or value 0), so that position
     * {@code i} is entry {@code i}: a split table's values are indexed that way. With {@code values} (a
     * split table's {@code PyDictValues*}) the values come from there.
     */
    private void keysEntries(long keys, long values, Entries out)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        out.count = 0;
        memory.read(keys, header.asSlice(0, 48));
        long nentries = header.get(ValueLayout.JAVA_LONG, layout.require(Field.DICTKEYS_NENTRIES));
        long entriesAt;
        int entrySize;
        int keyAt;
        boolean hashed;
        if (layout.has(Field.DICTKEYS_SIZE)) {
            long size = header.get(ValueLayout.JAVA_LONG, layout.offset(Field.DICTKEYS_SIZE));
            if (size < 8 || size > 2L * MAX_ENTRIES || Long.bitCount(size) != 1) {
                throw new MalformedObjectException("dict keys size " + size);
            }
            int width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
            entriesAt = keys + layout.require(Field.DICTKEYS_INDICES) + size * width;
            entrySize = 24;
            keyAt = 8;
            hashed = true;
            if (nentries < 0 || nentries > size) {
                throw new MalformedObjectException("dict keys nentries " + nentries + " of " + size);
            }
        } else {
            int log2 = header.get(ValueLayout.JAVA_BYTE, layout.require(Field.DICTKEYS_LOG2_SIZE)) & 0xff;
            int log2Index = header.get(ValueLayout.JAVA_BYTE, layout.require(Field.DICTKEYS_LOG2_INDEX_BYTES)) & 0xff;
            int kind = header.get(ValueLayout.JAVA_BYTE, layout.require(Field.DICTKEYS_KIND)) & 0xff;
            if (log2 < 3 || (1L << log2) > 2L * MAX_ENTRIES || log2Index < log2 || log2Index > log2 + 3 || kind > 2
                    || nentries < 0 || nentries > (1L << log2)) {
                throw new MalformedObjectException("dict keys log2 " + log2 + "/" + log2Index + " kind " + kind
                        + " nentries " + nentries);
            }
            entriesAt = keys + layout.require(Field.DICTKEYS_INDICES) + (1L << log2Index);
            hashed = kind == 0;
            entrySize = hashed ? 24 : 16;
            keyAt = hashed ? 8 : 0;
        }
        int n = (int) nentries;
        if (n == 0) {
            return;
        }
        MemorySegment t = tableBuffer((long) entrySize * n + (values != 0 ? 8L * n : 0));
        memory.read(entriesAt, t.asSlice(0, (long) entrySize * n));
        long valuesAt = (long) entrySize * n;
        if (values != 0) {
            memory.read(values + layout.require(Field.DICTVALUES_VALUES), t.asSlice(valuesAt, 8L * n));
        }
        out.ensure(n);
        for (int i = 0; i < n; i++) {
            long base = (long) entrySize * i;
            long k = t.get(ValueLayout.JAVA_LONG, base + keyAt);
            long v = values != 0 ? t.get(ValueLayout.JAVA_LONG, valuesAt + 8L * i) : t.get(ValueLayout.JAVA_LONG, base + keyAt + 8);
            out.hashes[i] = hashed ? t.get(ValueLayout.JAVA_LONG, base) : 0;
            out.keys[i] = k;
            out.values[i] = v;
        }
        out.count = n;
    }

    private MemorySegment tableBuffer(long bytes) {
        if (table.byteSize() < bytes) {
            table = arena.allocate(Math.max(bytes, table.byteSize() * 2), 8);
        }
        return table.asSlice(0, bytes);
    }

    /** The string at {@code address} if it has {@code length} characters, else (or when unreadable) null. */
    private String readStringOrNull(long address, int length) throws SpyglassException {
        if (address == 0 || (address & 7) != 0) {
            return null;
        }
        try {
            return readString(address, length);
        } catch (MemoryFault | MalformedObjectException e) {
            return null;
        }
    }

    private String readString(long address) throws MemoryFault, MalformedObjectException, SpyglassException {
        return readString(address, -1);
    }

    /** Decodes the string at {@code address}; null when {@code length} is not -1 and differs (no decoding). */
    private String readString(long address, int length) throws MemoryFault, MalformedObjectException, SpyglassException {
        long got = memory.readPartial(address, stringBuf);
        if (got < strings.prefixSize()) {
            throw new MemoryFault(address, strings.prefixSize(), got);
        }
        MemorySegment prefix = stringBuf.asSlice(0, got);
        StringHeader h = strings.header(prefix);
        if (length >= 0 && h.length() != length) {
            return null;
        }
        if (h.isCompleteIn(got)) {
            return strings.decodeFromPrefix(h, prefix);
        }
        if (h.byteCount() > 4L * MAX_NAME_CHARS) {
            throw new MalformedObjectException("name of " + h.byteCount() + " bytes");
        }
        MemorySegment chars = tableBuffer(Math.max(h.byteCount(), 1)).asSlice(0, h.byteCount());
        memory.read(h.isInline() ? address + h.inlineOffset() : h.dataAddress(), chars);
        return strings.decode(h, chars);
    }

    private long pointer(long at) throws MemoryFault, MalformedObjectException, SpyglassException {
        return checkedPointer(memory.readLong(at));
    }

    private static long checkedPointer(long p) throws MalformedObjectException {
        if (p == 0 || (p & 7) != 0 || p < 0x1000 || p > 0x7fff_ffff_ffffL) {
            throw new MalformedObjectException("pointer 0x" + Long.toHexString(p));
        }
        return p;
    }
}
