package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Reads {@code dict}s out of the target: 2.7's open-addressing table of (hash, key, value), and the
 * 3.6+ compact dict (indices, then entries; 3.11+ unicode-keyed entries without the hash), combined
 * tables and split tables with their values array. Sizes are bounded and checked; a table being
 * resized while we read fails a check or a read ({@link MemoryFault}, {@link MalformedObjectException}).
 * Not thread-safe.
 */
final class RemoteDicts {
    /** sys.modules of a large application holds a few thousand modules. */
    static final int MAX_ENTRIES = 1 << 16;

    /** A dict's entries, valid until the next {@link RemoteDicts#entries} call into the same instance. */
    static final class Entries {
        /** Hash, key and value of each entry; key or value 0 for a deleted one. */
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

    private final RemoteMemory memory;
    private final Layout layout;
    private final RemoteObjects objects;
    private final boolean py2;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment header = arena.allocate(128, 8);
    private MemorySegment table = arena.allocate(4096, 8);
    private final Entries scratch = new Entries();
    /** {@code PyDict_Type} in the target, once one dict's type was checked by name. */
    private long dictType;

    RemoteDicts(RemoteMemory memory, Layout layout, RemoteObjects objects) {
        this.memory = memory;
        this.layout = layout;
        this.objects = objects;
        this.py2 = layout.version().major() == 2;
    }

    /** Takes {@code type} as {@code PyDict_Type} if its name is {@code dict}; false otherwise. */
    boolean learnDictType(long type) throws MemoryFault, SpyglassException {
        if (dictType == 0 && "dict".equals(objects.typeName(type, 16))) {
            dictType = type;
        }
        return dictType != 0 && dictType == type;
    }

    boolean knowsDictType() {
        return dictType != 0;
    }

    /** Whether the object at {@code address} has the dict type learned before. */
    boolean isDict(long address) throws MemoryFault, SpyglassException {
        return (address & 7) == 0 && address != 0
                && memory.readLong(address + layout.require(Field.OBJECT_TYPE)) == dictType && dictType != 0;
    }

    /** The value under the string key {@code key} in the dict at {@code dict}, or 0. */
    long lookup(long dict, String key) throws MemoryFault, MalformedObjectException, SpyglassException {
        Entries e = dict == 0 ? null : scratch;
        if (e == null) {
            return 0;
        }
        entries(dict, e);
        for (int i = 0; i < e.count; i++) {
            if (e.values[i] != 0 && key.equals(objects.stringOrNull(e.keys[i], key.length()))) {
                return e.values[i];
            }
        }
        return 0;
    }

    /** Reads the live entries of the dict at {@code dict} into {@code out}. */
    void entries(long dict, Entries out) throws MemoryFault, MalformedObjectException, SpyglassException {
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
            memory.read(RemoteObjects.checkedPointer(tableAt), t);
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
        keysEntries(RemoteObjects.checkedPointer(keys), values == 0 ? 0 : RemoteObjects.checkedPointer(values), out);
    }

    /**
     * Reads every entry of a keys object, deleted ones included (key or value 0), so that position
     * {@code i} is entry {@code i}: a split table's values are indexed that way. With {@code values} (a
     * split table's {@code PyDictValues*}) the values come from there.
     */
    void keysEntries(long keys, long values, Entries out)
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

}
