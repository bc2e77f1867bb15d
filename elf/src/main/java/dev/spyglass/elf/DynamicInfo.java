package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.*;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the dynamic section says: {@code DT_SONAME} and {@code DT_NEEDED}, and where the loader finds the
 * dynamic symbols (addresses, -1 when absent), used for files without section headers.
 *
 * @param dynamicOffset file offset of the dynamic section, -1 when there is none
 * @param strOffset     file offset of the dynamic string table (checked to lie in the file), -1 when none
 */
record DynamicInfo(String soname, List<String> needed, long dynamicOffset, long strOffset, long strSize, long symtab, long gnuHash,
        long sysvHash, long versym, long syment) {
    private static final int DYN_SIZE = 16;
    private static final long DT_HASH = 4;
    private static final long DT_SYMTAB = 6;
    private static final long DT_SYMENT = 11;
    private static final long DT_GNU_HASH = 0x6ffffef5L;
    private static final long DT_VERSYM = 0x6ffffff0L;
    private static final DynamicInfo NONE = new DynamicInfo(null, List.of(), -1, -1, 0, -1, -1, -1, -1, -1);

    static DynamicInfo load(ElfBytes b, List<Section> secs, List<ProgramHeader> phdrs, List<ProgramHeader> loads)
            throws ElfFormatException {
        if (!secs.isEmpty()) {
            for (Section s : secs) {
                if (s.type() == SHT_DYNAMIC) {
                    if (s.isNoBits()) {
                        return NONE; // separate debug file
                    }
                    Section str = secs.get(s.link());
                    if (str.isNoBits()) {
                        return NONE;
                    }
                    if (str.type() != SHT_STRTAB) {
                        throw b.error(s.offset(), "dynamic section links to section [" + str.index() + "] '" + str.name()
                                + "' which is not a string table");
                    }
                    return read(b, s.offset(), s.size(), str.offset(), str.size());
                }
            }
            return NONE;
        }
        for (ProgramHeader p : phdrs) {
            if (p.type() != PT_DYNAMIC) {
                continue;
            }
            b.check(p.offset(), p.fileSize(), "PT_DYNAMIC segment");
            long strtab = -1;
            long strsz = -1;
            long n = Math.min(p.fileSize() / DYN_SIZE, ElfFile.MAX_DYNAMIC_ENTRIES);
            for (long i = 0; i < n; i++) {
                long e = p.offset() + i * DYN_SIZE;
                long tag = b.u64(e);
                if (tag == DT_NULL) {
                    break;
                }
                if (tag == DT_STRTAB) {
                    strtab = b.u64(e + 8);
                } else if (tag == DT_STRSZ) {
                    strsz = b.u64(e + 8);
                }
            }
            if (strtab == -1 || strsz == -1) {
                return NONE;
            }
            long strOff = -1;
            for (ProgramHeader l : loads) {
                if (Long.compareUnsigned(strtab - l.vaddr(), l.fileSize()) < 0) {
                    strOff = l.offset() + (strtab - l.vaddr());
                    break;
                }
            }
            if (strOff < 0) {
                throw b.error(p.offset(), "DT_STRTAB address 0x" + Long.toHexString(strtab) + " is in no PT_LOAD segment");
            }
            b.check(strOff, strsz, "dynamic string table");
            return read(b, p.offset(), p.fileSize(), strOff, strsz);
        }
        return NONE;
    }

    private static DynamicInfo read(ElfBytes b, long off, long size, long strOff, long strSize) throws ElfFormatException {
        String soname = null;
        List<String> needed = new ArrayList<>();
        long symtab = -1;
        long gnuHash = -1;
        long sysvHash = -1;
        long versym = -1;
        long syment = -1;
        long n = Math.min(size / DYN_SIZE, ElfFile.MAX_DYNAMIC_ENTRIES);
        for (long i = 0; i < n; i++) {
            long e = off + i * DYN_SIZE;
            long tag = b.u64(e);
            if (tag == DT_NULL) {
                break;
            }
            if (tag == DT_NEEDED) {
                needed.add(b.cString(strOff, strSize, b.u64(e + 8), "DT_NEEDED", e));
            } else if (tag == DT_SONAME && soname == null) {
                soname = b.cString(strOff, strSize, b.u64(e + 8), "DT_SONAME", e);
            } else if (tag == DT_SYMTAB) {
                symtab = b.u64(e + 8);
            } else if (tag == DT_GNU_HASH) {
                gnuHash = b.u64(e + 8);
            } else if (tag == DT_HASH) {
                sysvHash = b.u64(e + 8);
            } else if (tag == DT_VERSYM) {
                versym = b.u64(e + 8);
            } else if (tag == DT_SYMENT) {
                syment = b.u64(e + 8);
            }
        }
        return new DynamicInfo(soname, Collections.unmodifiableList(needed), off, strOff, strSize, symtab, gnuHash, sysvHash, versym,
                syment);
    }
}
