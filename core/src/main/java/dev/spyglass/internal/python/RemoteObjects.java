package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
 * Reads Python objects out of the target: {@code str} (2.7 {@code str}/{@code unicode}, PEP 393
 * compact and legacy strings) and {@code bytes}, with every pointer and length checked. One call
 * reads a prefix that holds the header and, for the short strings names and files are, the
 * characters too; longer contents cost a second read. Shared by the stack walk (names, files, line
 * tables) and thread names. Not thread-safe.
 *
 * <p>The object's type is checked before its header is trusted: a {@code co_name} caught pointing at
 * another object (an int, a tuple: a torn look, or a target that rewrote it) passes the ≤3.11 string
 * header checks often enough to decode as junk ("D", "3\0"). The type word is in the prefix already
 * read; a type's {@code tp_flags} cost one read the first time the type is seen.
 */
final class RemoteObjects {
    /** Contents up to this size are read into a buffer kept here; larger ones into a temporary one. */
    private static final long KEPT_BUFFER_MAX = 64 << 10;
    /** {@code Py_TPFLAGS_BYTES_SUBCLASS} (3.x), the same bit as 2.7's {@code Py_TPFLAGS_STRING_SUBCLASS}. */
    static final long TPFLAGS_BYTES_SUBCLASS = 1L << 27;
    /** {@code Py_TPFLAGS_UNICODE_SUBCLASS} (2.7 and 3.x). */
    static final long TPFLAGS_UNICODE_SUBCLASS = 1L << 28;
    /** {@code Py_TPFLAGS_HEAPTYPE}: such a type can be freed and its address reused, so it is not cached. */
    private static final long TPFLAGS_HEAPTYPE = 1L << 9;
    private static final int MAX_CACHED_TYPES = 256;

    private final RemoteMemory memory;
    private final Layout layout;
    private final StringDecoder strings;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment prefix;
    private MemorySegment contents;
    private final long typeAt;
    private final long flagsAt;
    /** The flag a text object's type has: 2.7 names are {@code str}, 3.x names {@code str} (unicode). */
    private final long textFlag;
    /** {@code tp_flags} of the static types seen (never freed, so cached for good). */
    private final LongMap<Long> staticTypeFlags = new LongMap<>(16);

    /**
     * @param prefixBytes bytes read with the header in the first call (at least the decoder's
     *                    {@link StringDecoder#prefixSize()})
     */
    RemoteObjects(RemoteMemory memory, Layout layout, StringDecoder strings, int prefixBytes) {
        this.memory = memory;
        this.layout = layout;
        this.strings = strings;
        this.prefix = arena.allocate(Math.max(prefixBytes, strings.prefixSize()), 8);
        this.contents = arena.allocate(1024, 8);
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.flagsAt = layout.require(Field.TYPE_FLAGS);
        this.textFlag = layout.version().major() < 3 ? TPFLAGS_BYTES_SUBCLASS : TPFLAGS_UNICODE_SUBCLASS;
    }

    StringDecoder decoder() {
        return strings;
    }

    /** Decodes the string at {@code address} (cut to the decoder's maximum length). */
    String string(long address) throws MemoryFault, MalformedObjectException, SpyglassException {
        return string(address, -1);
    }

    /**
     * Decodes the string at {@code address}; null, without decoding, when {@code length} is not -1 and
     * the string has another length (a cheap key comparison for dict look-ups).
     */
    String string(long address, int length) throws MemoryFault, MalformedObjectException, SpyglassException {
        checkedPointer(address);
        long got = memory.readPartial(address, prefix);
        if (got < strings.prefixSize()) {
            throw new MemoryFault(address, strings.prefixSize(), got);
        }
        MemorySegment p = prefix.asSlice(0, got);
        requireType(address, p, textFlag, "str");
        StringHeader h = strings.header(p);
        if (length >= 0 && h.length() != length) {
            return null;
        }
        if (h.isCompleteIn(got)) {
            return strings.decodeFromPrefix(h, p);
        }
        long at = h.isInline() ? address + h.inlineOffset() : h.dataAddress();
        if (h.byteCount() > KEPT_BUFFER_MAX) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment chars = a.allocate(h.byteCount(), 8);
                memory.read(at, chars);
                return strings.decode(h, chars);
            }
        }
        MemorySegment chars = contentsBuffer(h.byteCount());
        memory.read(at, chars);
        return strings.decode(h, chars);
    }

    /** The string at {@code address} if it has {@code length} characters, else (or when unreadable) null. */
    String stringOrNull(long address, int length) throws SpyglassException {
        if (address == 0 || (address & 7) != 0) {
            return null;
        }
        try {
            return string(address, length);
        } catch (MemoryFault | MalformedObjectException e) {
            return null;
        }
    }

    /** The contents of the {@code bytes} object at {@code address}, at most {@code maxBytes} long. */
    byte[] bytes(long address, int maxBytes) throws MemoryFault, MalformedObjectException, SpyglassException {
        checkedPointer(address);
        long got = memory.readPartial(address, prefix);
        if (got < layout.require(Field.BYTES_DATA)) {
            throw new MemoryFault(address, layout.require(Field.BYTES_DATA), got);
        }
        MemorySegment p = prefix.asSlice(0, got);
        requireType(address, p, TPFLAGS_BYTES_SUBCLASS, "bytes");
        StringHeader h = strings.bytesHeader(p, maxBytes);
        if (h.isCompleteIn(got)) {
            return strings.bytesContent(h, p.asSlice(h.inlineOffset(), h.byteCount()));
        }
        if (h.byteCount() > KEPT_BUFFER_MAX) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment data = a.allocate(h.byteCount(), 8);
                memory.read(address + h.inlineOffset(), data);
                return strings.bytesContent(h, data);
            }
        }
        MemorySegment data = contentsBuffer(h.byteCount());
        memory.read(address + h.inlineOffset(), data);
        return strings.bytesContent(h, data);
    }

    /**
     * The type's {@code tp_name}, a C string, cut at {@code maxBytes} (type names are checked against
     * a few known short ones: {@code code}, {@code dict}).
     */
    String typeName(long type, int maxBytes) throws MemoryFault, SpyglassException {
        long name = memory.readLong(type + layout.require(Field.TYPE_NAME));
        long got = memory.readPartial(name, prefix.asSlice(0, Math.min(maxBytes, prefix.byteSize())));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < got; i++) {
            byte b = prefix.get(ValueLayout.JAVA_BYTE, i);
            if (b == 0) {
                return sb.toString();
            }
            sb.append((char) (b & 0xff));
        }
        return sb.toString();
    }

    /**
     * Checks that the object whose first bytes are {@code p} has a type with {@code flag} in its
     * {@code tp_flags} (the type or a subclass, as {@code PyUnicode_Check} tests it).
     */
    private void requireType(long address, MemorySegment p, long flag, String what)
            throws MemoryFault, MalformedObjectException, SpyglassException {
        if (p.byteSize() < typeAt + 8) {
            throw new MemoryFault(address, typeAt + 8, p.byteSize());
        }
        long type = checkedPointer(p.get(ValueLayout.JAVA_LONG_UNALIGNED, typeAt));
        Long known = staticTypeFlags.get(type);
        long flags;
        if (known != null) {
            flags = known;
        } else {
            flags = memory.readLong(type + flagsAt);
            if ((flags & TPFLAGS_HEAPTYPE) == 0) {
                if (staticTypeFlags.size() >= MAX_CACHED_TYPES) {
                    staticTypeFlags.clear();
                }
                staticTypeFlags.put(type, flags);
            }
        }
        if ((flags & flag) == 0) {
            throw new MalformedObjectException("object 0x" + Long.toHexString(address) + " is not a " + what
                    + " (its type's tp_flags are 0x" + Long.toHexString(flags) + ")");
        }
    }

    private MemorySegment contentsBuffer(long bytes) {
        if (contents.byteSize() < bytes) {
            contents = arena.allocate(Math.max(bytes, contents.byteSize() * 2), 8);
        }
        return contents.asSlice(0, bytes);
    }

    /** {@code p} when it can be an object pointer of a user-space x86-64 process, else an exception. */
    static long checkedPointer(long p) throws MalformedObjectException {
        if (p == 0 || (p & 7) != 0 || p < 0x1000 || p > 0x7fff_ffff_ffffL) {
            throw new MalformedObjectException("pointer 0x" + Long.toHexString(p));
        }
        return p;
    }
}
