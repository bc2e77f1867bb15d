package dev.spyglass.elf;

import java.util.HashMap;
import java.util.Map;

/**
 * Reads {@code .eh_frame} (the LSB's "Exception Frames": DWARF call-frame information with pointer
 * encodings and augmentations) into an {@link UnwindTable}. Each entry is a length, then either a CIE
 * (id 0: what many FDEs share) or an FDE (a pointer back to its CIE, the address range of one function
 * or function part, and its instructions). Everything is bounds-checked against the entry it belongs
 * to and the section; a malformed entry is an {@link ElfFormatException} naming its offset.
 */
final class EhFrame {
    private static final long MAX_CIES = 1 << 16;

    private EhFrame() {
    }

    static UnwindTable read(ElfFile file) throws ElfFormatException {
        ElfBytes b = file.elfBytes();
        long start;
        long end;
        long addressOfOffsetZero;
        Section sec = file.section(".eh_frame").filter(ElfHeaders::hasFileData).orElse(null);
        if (sec != null) {
            start = sec.offset();
            end = sec.offset() + sec.size();
            addressOfOffsetZero = sec.address() - sec.offset();
        } else if (file.sections().isEmpty()) {
            long[] found = fromHeader(file, b);
            if (found == null) {
                return new UnwindTableBuilder().build();
            }
            start = found[0];
            end = found[1];
            addressOfOffsetZero = found[2];
        } else {
            return new UnwindTableBuilder().build();
        }
        return parse(b, start, end, addressOfOffsetZero);
    }

    /**
     * Finds {@code .eh_frame} as the run-time unwinder does, through {@code PT_GNU_EH_FRAME}
     * ({@code .eh_frame_hdr}: version 1, then the encoded address of {@code .eh_frame}); it ends with
     * its zero terminator or its {@code PT_LOAD} segment. Null when the file has no such header.
     */
    private static long[] fromHeader(ElfFile file, ElfBytes b) throws ElfFormatException {
        for (ProgramHeader p : file.programHeaders()) {
            if (p.type() != ElfConstants.PT_GNU_EH_FRAME || p.fileSize() < 8) {
                continue;
            }
            b.check(p.offset(), p.fileSize(), "PT_GNU_EH_FRAME segment");
            CfiCursor c = new CfiCursor(b, p.offset(), p.offset() + p.fileSize(), p.vaddr() - p.offset());
            if (c.u8() != 1) {
                throw b.error(p.offset(), ".eh_frame_hdr version is not 1");
            }
            int ptrEncoding = c.u8();
            c.u8();
            c.u8();
            long ehFrame = c.pointer(ptrEncoding, p.vaddr());
            long offset = file.vaddrToFileOffset(ehFrame);
            if (offset < 0) {
                throw b.error(p.offset(), ".eh_frame_hdr points at 0x" + Long.toHexString(ehFrame)
                        + ", which no PT_LOAD segment maps from the file");
            }
            for (ProgramHeader load : file.loadSegments()) {
                if (load.containsFileOffset(offset)) {
                    long end = Math.min(load.offset() + load.fileSize(), b.size());
                    return new long[] {offset, end, ehFrame - offset};
                }
            }
        }
        return null;
    }

    static UnwindTable parse(ElfBytes b, long start, long end, long addressOfOffsetZero) throws ElfFormatException {
        b.check(start, end - start, ".eh_frame");
        UnwindTableBuilder out = new UnwindTableBuilder();
        Map<Long, CfiProgram.Cie> cies = new HashMap<>();
        Map<Long, CfiRow> initialRows = new HashMap<>();
        CfiCursor c = new CfiCursor(b, start, end, addressOfOffsetZero);
        while (c.hasMore()) {
            long entryStart = c.position();
            if (end - entryStart < 4) {
                break; // trailing padding
            }
            long length = c.u32();
            if (length == 0) {
                break; // terminator
            }
            if (length == 0xffffffffL) {
                length = c.u64();
            }
            long bodyStart = c.position();
            if (Long.compareUnsigned(length, end - bodyStart) > 0 || length < 4) {
                throw b.error(entryStart, "call-frame entry of length 0x" + Long.toHexString(length)
                        + " runs past .eh_frame's end");
            }
            long entryEnd = bodyStart + length;
            c.limit(entryEnd);
            long id = c.u32();
            if (id == 0) {
                CfiProgram.Cie cie = readCie(c, entryEnd);
                if (cies.size() >= MAX_CIES) {
                    throw b.error(entryStart, "more than " + MAX_CIES + " CIEs");
                }
                cies.put(entryStart, cie);
            } else {
                long ciePos = bodyStart - id;
                CfiProgram.Cie cie = cies.get(ciePos);
                if (cie == null) {
                    // A CIE usually precedes its FDEs; one after them is read on first use.
                    cie = cieAt(b, ciePos, start, end, addressOfOffsetZero, entryStart);
                    cies.put(ciePos, cie);
                }
                CfiRow initial = initialRows.get(ciePos);
                if (initial == null) {
                    initial = initialRow(b, cie, addressOfOffsetZero);
                    initialRows.put(ciePos, initial);
                }
                readFde(c, cie, initial, entryEnd, out);
            }
            c.limit(end);
            c.seek(entryEnd);
        }
        return out.build();
    }

    private static CfiProgram.Cie cieAt(ElfBytes b, long ciePos, long start, long end, long addressOfOffsetZero,
            long fdeAt) throws ElfFormatException {
        if (ciePos < start || ciePos + 8 > end) {
            throw b.error(fdeAt, "FDE's CIE pointer 0x" + Long.toHexString(ciePos) + " is outside .eh_frame");
        }
        CfiCursor c = new CfiCursor(b, ciePos, end, addressOfOffsetZero);
        long length = c.u32();
        if (length == 0xffffffffL) {
            length = c.u64();
        }
        long bodyStart = c.position();
        if (length < 4 || Long.compareUnsigned(length, end - bodyStart) > 0) {
            throw b.error(ciePos, "CIE of length 0x" + Long.toHexString(length) + " runs past .eh_frame's end");
        }
        c.limit(bodyStart + length);
        if (c.u32() != 0) {
            throw b.error(fdeAt, "FDE's CIE pointer 0x" + Long.toHexString(ciePos) + " does not point at a CIE");
        }
        return readCie(c, bodyStart + length);
    }

    private static CfiProgram.Cie readCie(CfiCursor c, long entryEnd) throws ElfFormatException {
        int version = c.u8();
        if (version != 1 && version != 3) {
            throw c.error("CIE version " + version + " (.eh_frame has 1 or 3)");
        }
        String augmentation = c.cString();
        if (!augmentation.isEmpty() && augmentation.charAt(0) != 'z') {
            throw c.error("CIE augmentation \"" + augmentation + "\" not supported");
        }
        long codeAlign = c.uleb();
        long dataAlign = c.sleb();
        long raColumn = version == 1 ? c.u8() : c.uleb();
        int fdeEncoding = CfiCursor.PE_ABSPTR;
        boolean signal = false;
        boolean z = !augmentation.isEmpty();
        if (z) {
            long augLength = c.uleb();
            long augEnd = c.position() + augLength;
            if (augLength > entryEnd - c.position()) {
                throw c.error("CIE augmentation data runs past the CIE");
            }
            for (int i = 1; i < augmentation.length(); i++) {
                switch (augmentation.charAt(i)) {
                    case 'R' -> fdeEncoding = c.u8();
                    case 'L' -> c.u8();
                    case 'P' -> {
                        int enc = c.u8();
                        c.pointer(enc & 0x7f, 0); // the personality routine: not needed to unwind
                    }
                    case 'S' -> signal = true;
                    case 'B', 'G' -> { } // AArch64 B-key / memory tagging: no data
                    default -> throw c.error("CIE augmentation \"" + augmentation + "\" not supported");
                }
            }
            c.seek(augEnd);
        }
        if (codeAlign <= 0 || codeAlign > 64 || raColumn > 0xffff) {
            throw c.error("CIE with code alignment " + codeAlign + ", return address column " + raColumn);
        }
        return new CfiProgram.Cie(codeAlign, dataAlign, (int) raColumn, fdeEncoding, z, signal, c.position(), entryEnd);
    }

    private static CfiRow initialRow(ElfBytes b, CfiProgram.Cie cie, long addressOfOffsetZero) throws ElfFormatException {
        CfiRow row = new CfiRow();
        CfiCursor c = new CfiCursor(b, cie.instructionsStart(), cie.instructionsEnd(), addressOfOffsetZero);
        CfiProgram.run(c, cie, row, row, 0, null);
        return row;
    }

    private static void readFde(CfiCursor c, CfiProgram.Cie cie, CfiRow initial, long entryEnd, UnwindTableBuilder out)
            throws ElfFormatException {
        long pcBegin = c.pointer(cie.fdeEncoding(), 0);
        long pcRange = c.value(cie.fdeEncoding());
        if (cie.hasAugmentationData()) {
            c.skip(c.uleb());
        }
        if (pcRange <= 0 || pcBegin == 0 || Long.compareUnsigned(pcBegin + pcRange, pcBegin) < 0) {
            return; // an empty FDE, or one left for code the linker discarded
        }
        out.beginFde(pcBegin, pcBegin + pcRange);
        CfiRow row = initial.copy();
        CfiCursor instructions = c;
        instructions.limit(entryEnd);
        CfiProgram.run(instructions, cie, row, initial, pcBegin, out);
        out.endFde();
    }
}
