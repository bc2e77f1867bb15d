package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.*;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ELF file every accessor relies on, checked while {@link ElfFile} opens it: the ELF
 * header, the section header table (read first: extended numbering keeps counts in section 0), the
 * program headers and the sections with their names; also the {@code .interp} path and the
 * {@code .gnu_debuglink} entry. Everything here throws {@link ElfFormatException} naming the offset.
 *
 * @param sectionHeaderOffset {@code e_shoff}, which the symbol tables' error messages name
 */
record ElfHeaders(int osAbi, int type, int machine, long entry, List<ProgramHeader> programHeaders,
        List<ProgramHeader> loadSegments, List<Section> sections, Map<String, Section> sectionsByName,
        long sectionHeaderOffset) {

    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;

    static ElfHeaders parse(ElfBytes b) throws ElfFormatException {
        // --- ELF header -------------------------------------------------------------------------
        if (b.size() < 4 || b.u8(0) != 0x7f || b.u8(1) != 'E' || b.u8(2) != 'L' || b.u8(3) != 'F') {
            throw b.error(0, "not an ELF file (bad magic, " + b.size() + " bytes)");
        }
        if (b.size() < 6) {
            throw b.error(b.size(), "truncated ELF header: " + b.size() + " bytes, need 64");
        }
        int elfClass = b.u8(4);
        if (elfClass == 1) {
            throw b.error(4, "32-bit ELF not supported (only ELF64 little-endian x86-64 and AArch64)");
        }
        if (elfClass != 2) {
            throw b.error(4, "invalid ELF class " + elfClass);
        }
        int data = b.u8(5);
        if (data == 2) {
            throw b.error(5, "big-endian ELF not supported (only ELF64 little-endian x86-64 and AArch64)");
        }
        if (data != 1) {
            throw b.error(5, "invalid ELF data encoding " + data);
        }
        if (b.size() < EHDR_SIZE) {
            throw b.error(b.size(), "truncated ELF header: " + b.size() + " bytes, need 64");
        }
        if (b.u8(6) != 1) {
            throw b.error(6, "unsupported ELF version " + b.u8(6));
        }
        int osAbi = b.u8(7);
        int type = b.u16(16);
        int machine = b.u16(18);
        if (machine != EM_X86_64 && machine != EM_AARCH64) {
            throw b.error(18, "ELF machine " + machine + " not supported (only x86-64 = 62 and AArch64 = 183)");
        }
        long entry = b.u64(24);
        long phoff = b.u64(32);
        long shoff = b.u64(40);
        int phentsize = b.u16(54);
        long phnum = b.u16(56);
        int shentsize = b.u16(58);
        long shnum = b.u16(60);
        long shstrndx = b.u16(62);

        // --- section header table (read first: extended numbering keeps counts in section 0) --------
        if (shoff != 0) {
            if (shentsize != SHDR_SIZE) {
                throw b.error(58, "section header entry size " + shentsize + ", expected 64");
            }
            b.check(shoff, SHDR_SIZE, "section header 0");
            if (shnum == 0) {
                shnum = b.u64(shoff + 32);
            }
            if (shstrndx == SHN_XINDEX) {
                shstrndx = b.u32(shoff + 40);
            }
            if (phnum == 0xffff) {
                phnum = b.u32(shoff + 44);
            }
        } else {
            shnum = 0;
        }
        if (Long.compareUnsigned(shnum, ElfFile.MAX_SECTIONS) > 0) {
            throw b.error(60, "section count " + Long.toUnsignedString(shnum) + " exceeds the limit " + ElfFile.MAX_SECTIONS);
        }
        if (shnum > 0) {
            b.check(shoff, shnum * SHDR_SIZE, "section header table of " + shnum + " entries");
        }

        // --- program headers ------------------------------------------------------------------------
        if (phnum > ElfFile.MAX_PROGRAM_HEADERS) {
            throw b.error(56, "program header count " + phnum + " exceeds the limit " + ElfFile.MAX_PROGRAM_HEADERS);
        }
        List<ProgramHeader> phdrs = new ArrayList<>((int) phnum);
        List<ProgramHeader> loads = new ArrayList<>();
        if (phnum > 0) {
            if (phentsize != PHDR_SIZE) {
                throw b.error(54, "program header entry size " + phentsize + ", expected 56");
            }
            b.check(phoff, phnum * PHDR_SIZE, "program header table of " + phnum + " entries");
            for (int i = 0; i < phnum; i++) {
                long p = phoff + (long) i * PHDR_SIZE;
                ProgramHeader ph = new ProgramHeader((int) b.u32(p), (int) b.u32(p + 4), b.u64(p + 8),
                        b.u64(p + 16), b.u64(p + 32), b.u64(p + 40), b.u64(p + 48));
                phdrs.add(ph);
                if (ph.isLoad()) {
                    loads.add(ph);
                }
            }
        }
                
        // --- sections --------------------------------------------------------------------------------
        int n = (int) shnum;
        long strOff = 0;
        long strSize = 0;
        boolean haveNames = false;
        if (n > 0 && shstrndx != SHN_UNDEF) {
            if (shstrndx >= n) {
                throw b.error(62, "section name table index " + shstrndx + " outside the " + n + " sections");
            }
            long h = shoff + shstrndx * SHDR_SIZE;
            strOff = b.u64(h + 24);
            strSize = b.u64(h + 32);
            if (b.u32(h + 4) == SHT_NOBITS) {
                throw b.error(h, "section name table has no bytes in the file (SHT_NOBITS)");
            }
            b.check(strOff, strSize, "section name table");
            haveNames = true;
        }
        List<Section> secs = new ArrayList<>(n);
        Map<String, Section> byName = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long h = shoff + (long) i * SHDR_SIZE;
            long nameOff = b.u32(h);
            String secName = haveNames ? b.cString(strOff, strSize, nameOff, "name of section " + i, h) : "";
            Section s = new Section(i, secName, (int) b.u32(h + 4), b.u64(h + 8), b.u64(h + 16), b.u64(h + 24),
                    b.u64(h + 32), b.u64(h + 56), (int) b.u32(h + 40), (int) b.u32(h + 44), b.u64(h + 48));
            if (hasFileData(s)) {
                if (!b.inRange(s.offset(), s.size())) {
                    throw b.error(h + 24, "section [" + i + "] '" + secName + "' (offset 0x" + Long.toHexString(s.offset())
                            + ", size 0x" + Long.toHexString(s.size()) + ") extends past the end of the file (size 0x"
                            + Long.toHexString(b.size()) + ")");
                }
            }
            if (Integer.compareUnsigned(s.link(), n) >= 0 && isLinkedType(s.type())) {
                throw b.error(h + 40, "section [" + i + "] '" + secName + "' links to section " + Integer.toUnsignedString(s.link())
                        + " of " + n);
            }
            secs.add(s);
            byName.putIfAbsent(secName, s);
        }
                
        return new ElfHeaders(osAbi, type, machine, entry, Collections.unmodifiableList(phdrs),
                Collections.unmodifiableList(loads), Collections.unmodifiableList(secs), byName, shoff);
    }

    /**
     * True for the sections whose bytes are in the file, all checked to lie inside it while opening: any
     * type but {@code SHT_NULL} and {@code SHT_NOBITS}, of non-zero size (section 0 included, so a link to
     * it is safe too).
     */
    static boolean hasFileData(Section s) {
        return s.type() != SHT_NOBITS && s.type() != SHT_NULL && s.size() != 0;
    }

    private static boolean isLinkedType(int type) {
        return type == SHT_SYMTAB || type == SHT_DYNSYM || type == SHT_HASH || type == SHT_GNU_HASH
                || type == SHT_DYNAMIC || type == SHT_GNU_VERSYM;
    }

    static String readInterpreter(ElfBytes b, List<Section> secs, List<ProgramHeader> phdrs) throws ElfFormatException {
        if (!secs.isEmpty()) {
            // With section headers, trust .interp: in a separate debug file PT_INTERP still points at the
            // original's offsets while .interp is SHT_NOBITS.
            for (Section s : secs) {
                if (s.name().equals(".interp") && s.type() == SHT_PROGBITS && s.size() > 0) {
                    return b.cStringLenient(s.offset(), s.size());
                }
            }
            return null;
        }
        for (ProgramHeader p : phdrs) {
            if (p.type() == PT_INTERP && p.fileSize() > 0) {
                b.check(p.offset(), p.fileSize(), "PT_INTERP segment");
                return b.cStringLenient(p.offset(), p.fileSize());
            }
        }
        return null;
    }

    static DebugLink readDebugLink(ElfBytes b, Section s) throws ElfFormatException {
        if (s == null || !hasFileData(s)) {
            return null;
        }
        long nul = b.indexOfNul(s.offset(), s.size());
        if (nul < 0) {
            throw b.error(s.offset(), ".gnu_debuglink file name is not NUL-terminated");
        }
        String file = b.string(s.offset(), nul - s.offset());
        long crcAt = s.offset() + ((nul - s.offset() + 1 + 3) & ~3L);
        if (crcAt + 4 > s.offset() + s.size()) {
            throw b.error(crcAt, ".gnu_debuglink too short for its CRC (section size " + s.size() + ")");
        }
        return new DebugLink(file, (int) b.u32(crcAt));
    }
}
