package dev.spyglass.elf;

/**
 * A bounds-checked reader of DWARF call-frame data (CIEs, FDEs and their instructions) inside one
 * range of the file: LEB128 numbers and the {@code DW_EH_PE_*} pointer encodings of {@code .eh_frame}
 * (LSB, "Exception Frame"). Every read past the range's end is an {@link ElfFormatException} naming
 * the offset, so a corrupt entry can never read outside the entry it belongs to.
 */
final class CfiCursor {
    // DW_EH_PE_* value formats (low 4 bits) and applications (bits 4-6); 0x80 is "indirect".
    static final int PE_OMIT = 0xff;
    static final int PE_ABSPTR = 0x00;
    static final int PE_ULEB128 = 0x01;
    static final int PE_UDATA2 = 0x02;
    static final int PE_UDATA4 = 0x03;
    static final int PE_UDATA8 = 0x04;
    static final int PE_SLEB128 = 0x09;
    static final int PE_SDATA2 = 0x0a;
    static final int PE_SDATA4 = 0x0b;
    static final int PE_SDATA8 = 0x0c;
    static final int PE_PCREL = 0x10;
    static final int PE_DATAREL = 0x30;

    private final ElfBytes b;
    /** Link-time address of file offset 0 of the range's section: offset + this = address. */
    private final long addressOfOffsetZero;
    private long pos;
    private long end;

    CfiCursor(ElfBytes b, long start, long end, long addressOfOffsetZero) {
        this.b = b;
        this.pos = start;
        this.end = end;
        this.addressOfOffsetZero = addressOfOffsetZero;
    }

    long position() {
        return pos;
    }

    void seek(long position) {
        pos = position;
    }

    long end() {
        return end;
    }

    void limit(long newEnd) {
        end = newEnd;
    }

    boolean hasMore() {
        return pos < end;
    }

    /** The link-time address of the byte at the cursor (for {@code DW_EH_PE_pcrel}). */
    long address() {
        return addressOfOffsetZero + pos;
    }

    ElfFormatException error(String problem) {
        return b.error(pos, problem);
    }

    private void need(long n) throws ElfFormatException {
        if (n > end - pos) {
            throw b.error(pos, "call-frame entry ends inside a " + n + "-byte field (entry end 0x"
                    + Long.toHexString(end) + ")");
        }
    }

    int u8() throws ElfFormatException {
        need(1);
        return b.u8(pos++);
    }

    int u16() throws ElfFormatException {
        need(2);
        int v = b.u16(pos);
        pos += 2;
        return v;
    }

    long u32() throws ElfFormatException {
        need(4);
        long v = b.u32(pos);
        pos += 4;
        return v;
    }

    long u64() throws ElfFormatException {
        need(8);
        long v = b.u64(pos);
        pos += 8;
        return v;
    }

    long uleb() throws ElfFormatException {
        long result = 0;
        for (int shift = 0; ; shift += 7) {
            int x = u8();
            if (shift < 64) {
                result |= (long) (x & 0x7f) << shift;
            }
            if ((x & 0x80) == 0) {
                return result;
            }
            if (shift > 70) {
                throw error("LEB128 number longer than 10 bytes");
            }
        }
    }

    long sleb() throws ElfFormatException {
        long result = 0;
        int shift = 0;
        int x;
        do {
            x = u8();
            if (shift < 64) {
                result |= (long) (x & 0x7f) << shift;
            }
            shift += 7;
            if (shift > 77) {
                throw error("LEB128 number longer than 10 bytes");
            }
        } while ((x & 0x80) != 0);
        if (shift < 64 && (x & 0x40) != 0) {
            result |= -1L << shift;
        }
        return result;
    }

    /** A NUL-terminated ASCII string (a CIE's augmentation). */
    String cString() throws ElfFormatException {
        long nul = b.indexOfNul(pos, Math.max(0, end - pos));
        if (nul < 0) {
            throw error("augmentation string not NUL-terminated inside its CIE");
        }
        String s = b.string(pos, nul - pos);
        pos = nul + 1;
        return s;
    }

    void skip(long n) throws ElfFormatException {
        if (n < 0) {
            throw error("negative length " + n);
        }
        need(n);
        pos += n;
    }

    /**
     * A pointer in {@code encoding}: pc-relative values are made absolute link-time addresses; a
     * data-relative one is relative to {@code dataBase}. Indirect pointers (0x80) and text- or
     * function-relative ones do not occur in the FDEs of x86-64 or AArch64 objects and are refused.
     */
    long pointer(int encoding, long dataBase) throws ElfFormatException {
        if (encoding == PE_OMIT) {
            throw error("omitted pointer where one is required");
        }
        if ((encoding & 0x80) != 0) {
            throw error("indirect pointer (DW_EH_PE_indirect) in call-frame data");
        }
        long at = address();
        long value = switch (encoding & 0x0f) {
            case PE_ABSPTR, PE_UDATA8, PE_SDATA8 -> u64();
            case PE_ULEB128 -> uleb();
            case PE_UDATA2 -> u16();
            case PE_UDATA4 -> u32();
            case PE_SLEB128 -> sleb();
            case PE_SDATA2 -> (short) u16();
            case PE_SDATA4 -> (int) u32();
            default -> throw error("unknown pointer format 0x" + Integer.toHexString(encoding));
        };
        return switch (encoding & 0x70) {
            case 0 -> value;
            case PE_PCREL -> at + value;
            case PE_DATAREL -> dataBase + value;
            default -> throw error("unsupported pointer application 0x" + Integer.toHexString(encoding));
        };
    }

    /** A value in the size given by {@code encoding}, without applying it (an FDE's address range). */
    long value(int encoding) throws ElfFormatException {
        return pointer(encoding & 0x0f, 0);
    }
}
