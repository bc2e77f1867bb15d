package dev.spyglass.internal.python;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.LineTable;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Code objects of the target, decoded once and cached by address: an entry is used only while the
 * header words read in this look (type, name, qualified name, file, line table, first line, flags,
 * argument count, size) match those it was decoded from, so a freed code object whose address was
 * reused is decoded again (Austin 4.0 reported the wrong function that way). Also the 3.14t
 * per-thread bytecode copies. Not thread-safe.
 */
final class CodeObjects {
    static final int MAX_CODE_CACHE = 1 << 16;
    static final int MAX_LINETABLE_BYTES = 1 << 20;
    // Per-thread bytecode indexes are small integers handed out per live thread (3.14t index pool).
    private static final int MAX_TLBC_INDEX = 1 << 16;

    private final RemoteMemory memory;
    private final Layout layout;
    private final RemoteObjects objects;
    private final StructSpans codeSpans;
    private final boolean codeUnits;
    private final boolean skipNonCode;
    private final LongMap<CodeEntry> cache = new LongMap<>(1024);
    private final LongMap<Boolean> codeTypes = new LongMap<>(16);
    private final long[] keyWords = new long[ReaderSpans.CODE_KEY.length];
    private final boolean[] keyIsInt = new boolean[ReaderSpans.CODE_KEY.length];
    private final FrameInterner interner;
    private long codeType;
    private long decodes;

    /**
     * @param codeType {@code &PyCode_Type} when the target exports it, else 0 (learned by name)
     * @param interner where the frames of every entry are interned (one per target)
     */
    CodeObjects(Layout layout, RemoteMemory memory, RemoteObjects objects, ReaderSpans spans, long codeType,
            FrameInterner interner) {
        this.interner = interner;
        this.memory = memory;
        this.layout = layout;
        this.objects = objects;
        this.codeSpans = spans.code();
        this.codeUnits = layout.version().isAtLeast(3, 11);
        this.skipNonCode = FrameWalker.executableMayBeNonCode(layout);
        this.codeType = codeType;
        for (int k = 0; k < keyIsInt.length; k++) {
            keyIsInt[k] = StructSpans.width(ReaderSpans.CODE_KEY[k]) == 4;
        }
    }

    /** Code objects decoded so far (a steady state decodes none). */
    long decodes() {
        return decodes;
    }

    /**
     * The cached entry if still valid, else a freshly decoded one, from the header at {@code at} in
     * {@code buf}; null for a non-code executable (3.13+), or after tearing {@code r}.
     */
    CodeEntry entryFor(ThreadRecord r, long address, MemorySegment buf, long at, int stride) throws SpyglassException {
        for (int k = 0; k < keyWords.length; k++) {
            Field f = ReaderSpans.CODE_KEY[k];
            keyWords[k] = keyIsInt[k] ? codeSpans.getInt(buf, at, f) : codeSpans.getLong(buf, at, f);
        }
        CodeEntry cached = cache.get(address);
        if (cached != null && cached.matches(keyWords)) {
            return cached;
        }
        if (!isCodeType(keyWords[0])) {
            if (!skipNonCode) {
                r.tear("f_code is not a code object");
            }
            return null;
        }
        try {
            CodeEntry e = decode(buf.asSlice(at, stride));
            decodes++;
            if (cache.size() >= MAX_CODE_CACHE) {
                cache.clear();
            }
            cache.put(address, e);
            return e;
        } catch (MemoryFault | MalformedObjectException ex) {
            r.tear("code object 0x" + Long.toHexString(address) + ": " + ex.getMessage());
            return null;
        }
    }

    private boolean isCodeType(long type) throws SpyglassException {
        if (type == 0 || (type & 7) != 0) {
            return false;
        }
        if (codeType != 0) {
            return type == codeType;
        }
        Boolean known = codeTypes.get(type);
        if (known != null) {
            return known;
        }
        boolean isCode = false;
        if (layout.has(Field.TYPE_NAME)) {
            try {
                // tp_name is a C string; 8 bytes are enough to tell "code" from longer names.
                isCode = "code".equals(objects.typeName(type, 8));
            } catch (MemoryFault f) {
                return false;
            }
        }
        codeTypes.put(type, isCode);
        if (isCode) {
            codeType = type;
        }
        return isCode;
    }

    private CodeEntry decode(MemorySegment header) throws MemoryFault, MalformedObjectException, SpyglassException {
        long[] key = keyWords.clone();
        String name = objects.string(codeSpans.getLong(header, Field.CODE_NAME));
        String qualname = codeSpans.has(Field.CODE_QUALNAME) ? objects.string(codeSpans.getLong(header, Field.CODE_QUALNAME))
                : name;
        String file = objects.string(codeSpans.getLong(header, Field.CODE_FILENAME));
        int firstLine = codeSpans.getInt(header, Field.CODE_FIRSTLINENO);
        byte[] table = objects.bytes(codeSpans.getLong(header, Field.CODE_LINETABLE), MAX_LINETABLE_BYTES);
        LineTable lines = LineTable.of(layout.version(), table, firstLine);
        long codeBytes = -1;
        if (codeUnits && codeSpans.has(Field.VAROBJECT_SIZE)) {
            long units = codeSpans.getLong(header, Field.VAROBJECT_SIZE);
            if (units < 0 || units > (1L << 28)) {
                throw new MalformedObjectException("code object with " + units + " code units");
            }
            codeBytes = units * 2;
        }
        return new CodeEntry(key, name, qualname, file, firstLine, lines, codeUnits, codeBytes, interner);
    }

    /**
     * 3.14t: the start of the thread's copy of the code's bytecode, {@code co->_co_tlbc->entries[index]}
     * ({@code _PyFrame_GetBytecode}; entry 0 is {@code co_code_adaptive} itself). Cached per code object
     * and index; a cached start is trusted only while {@code instr} falls inside that copy, else the
     * array is read again (copies are freed and reallocated by the GC). 0 after tearing {@code r}.
     */
    long tlbcStart(ThreadRecord r, long code, CodeEntry e, int index, long instr) throws SpyglassException {
        long[] starts = e.tlbcStarts;
        // The index comes from the target: check it before it indexes anything.
        if (index < 0 || index > MAX_TLBC_INDEX || !layout.has(Field.CODE_TLBC)) {
            r.tear("frame tlbc_index " + index + " out of range");
            return 0;
        }
        if (starts != null && index < starts.length && starts[index] != 0) {
            long d = instr - starts[index];
            if (d >= -2 && (e.codeBytes < 0 || d < e.codeBytes)) {
                return starts[index];
            }
        }
        long start;
        try {
            long array = memory.readLong(code + layout.offset(Field.CODE_TLBC));
            // _PyCodeArray: Py_ssize_t size; char *entries[size]
            long size = array == 0 || (array & 7) != 0 ? 0 : memory.readLong(array);
            if (index >= size || size > MAX_TLBC_INDEX + 1) {
                r.tear("code object 0x" + Long.toHexString(code) + " has no bytecode copy " + index);
                return 0;
            }
            start = memory.readLong(array + 8 + 8L * index);
        } catch (MemoryFault ex) {
            r.tear("per-thread bytecode of code object 0x" + Long.toHexString(code) + ": " + ex.getMessage());
            return 0;
        }
        if (start == 0 || (start & 1) != 0) {
            r.tear("code object 0x" + Long.toHexString(code) + " has no bytecode copy " + index);
            return 0;
        }
        if (starts == null || index >= starts.length) {
            starts = Arrays.copyOf(starts == null ? new long[0] : starts, Math.max(index + 1, 4));
            e.tlbcStarts = starts;
        }
        starts[index] = start;
        return start;
    }
}
