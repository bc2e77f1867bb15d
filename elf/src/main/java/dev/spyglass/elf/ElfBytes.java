package dev.spyglass.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Bounds-checked little-endian reads over the file's segment. Every read of a structure whose
 * position came from the file goes through {@link #check} first, so a bad offset becomes an
 * {@link ElfFormatException} naming the file and the offset, never an {@code IndexOutOfBoundsException}.
 */
final class ElfBytes {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment seg;
    private final long size;
    private final String name;

    ElfBytes(MemorySegment seg, String name) {
        this.seg = seg;
        this.size = seg.byteSize();
        this.name = name;
    }

    MemorySegment segment() {
        return seg;
    }

    long size() {
        return size;
    }

    String name() {
        return name;
    }

    ElfFormatException error(long offset, String problem) {
        return new ElfFormatException(name, offset, problem);
    }

    /** True when {@code [offset, offset + length)} lies inside the file (unsigned, overflow-safe). */
    boolean inRange(long offset, long length) {
        return Long.compareUnsigned(offset, size) <= 0 && Long.compareUnsigned(length, size - offset) <= 0;
    }

    void check(long offset, long length, String what) throws ElfFormatException {
        if (!inRange(offset, length)) {
            throw error(offset, what + " (offset 0x" + Long.toHexString(offset) + ", length 0x" + Long.toHexString(length)
                    + ") extends past the end of the file (size 0x" + Long.toHexString(size) + ")");
        }
    }

    // The unchecked readers below are called only at positions already checked with check()/inRange().

    int u8(long offset) {
        return seg.get(ValueLayout.JAVA_BYTE, offset) & 0xff;
    }

    int u16(long offset) {
        return seg.get(U16, offset) & 0xffff;
    }

    long u32(long offset) {
        return seg.get(U32, offset) & 0xffffffffL;
    }

    int i32(long offset) {
        return seg.get(U32, offset);
    }

    long u64(long offset) {
        return seg.get(U64, offset);
    }

    /** The file offset of the first NUL in {@code [offset, offset + length)}, or -1. */
    long indexOfNul(long offset, long length) {
        long end = offset + length;
        for (long i = offset; i < end; i++) {
            if (seg.get(ValueLayout.JAVA_BYTE, i) == 0) {
                return i;
            }
        }
        return -1;
    }

    String string(long offset, long length) {
        if (length > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("string too long: " + length);
        }
        byte[] bytes = new byte[(int) length];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, offset, bytes, 0, bytes.length);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The NUL-terminated string at {@code index} of the string table {@code [tableOffset, +tableSize)},
     * which lies inside the file.
     */
    String cString(long tableOffset, long tableSize, long index, String what, long where) throws ElfFormatException {
        if (Long.compareUnsigned(index, tableSize) >= 0) {
            throw error(where, what + ": string index 0x" + Long.toHexString(index) + " outside the string table (size 0x"
                    + Long.toHexString(tableSize) + ")");
        }
        long nul = indexOfNul(tableOffset + index, tableSize - index);
        if (nul < 0) {
            throw error(tableOffset + index, what + ": string not NUL-terminated inside its string table");
        }
        return string(tableOffset + index, nul - tableOffset - index);
    }

    /** The string up to the first NUL, or the whole range when it has none. */
    String cStringLenient(long offset, long length) {
        long nul = indexOfNul(offset, length);
        return string(offset, nul < 0 ? length : nul - offset);
    }
}
