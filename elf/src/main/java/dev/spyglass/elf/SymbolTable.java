package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One symbol table ({@code .dynsym} or {@code .symtab}) with its string table and, for
 * {@code .dynsym}, its GNU or SysV hash table and version table. Everything the look-ups read is
 * validated in {@link #load}, so the look-ups themselves cannot fail: every symbol's name index lies
 * before the last NUL of the string table, and hash chains are walked with a step limit and
 * bounds checks (a corrupt chain ends the search instead of looping).
 */
final class SymbolTable {
    private static final int VERSYM_HIDDEN = 0x8000;

    private final ElfBytes b;
    private final boolean dynamic;
    private final long offset;
    private final int count;
    private final long strOffset;
    private final long strSize;
    private final long versymOffset;

    /** The hash tables of {@code .dynsym}; none for {@code .symtab} (looked up by a scan). */
    private final SymbolHashes hashes;
    /** This table's checks as the hash look-ups take them, made once rather than per look-up. */
    private final SymbolHashes.NameCheck nameCheck = this::nameEquals;
    private final SymbolHashes.HiddenCheck hiddenCheck = this::isHidden;

    private SymbolTable(ElfBytes b, boolean dynamic, long offset, int count, long strOffset, long strSize, long versymOffset) {
        this.hashes = new SymbolHashes(b, count);
        this.b = b;
        this.dynamic = dynamic;
        this.offset = offset;
        this.count = count;
        this.strOffset = strOffset;
        this.strSize = strSize;
        this.versymOffset = versymOffset;
    }

    /** The first section of {@code type}, validated; null when absent or without file contents. */
    static SymbolTable load(ElfBytes b, List<Section> secs, int type, long shoff) throws ElfFormatException {
        Section sec = null;
        for (Section s : secs) {
            if (s.type() == type) {
                sec = s;
                break;
            }
        }
        if (sec == null || sec.isNoBits()) {
            return null;
        }
        long hdr = shoff + (long) sec.index() * 64;
        String what = "symbol table [" + sec.index() + "] '" + sec.name() + "'";
        if (sec.size() == 0) {
            return null;
        }
        if (sec.entrySize() != ElfFile.SYM_SIZE) {
            throw b.error(hdr + 56, what + " has entry size " + sec.entrySize() + ", expected 24");
        }
        long n = sec.size() / ElfFile.SYM_SIZE;
        if (n > ElfFile.MAX_SYMBOLS) {
            throw b.error(hdr + 32, what + " has " + n + " entries, more than the limit " + ElfFile.MAX_SYMBOLS);
        }
        Section str = secs.get(sec.link());
        if (str.isNoBits()) {
            return null; // a separate debug file keeps .dynsym but not always .dynstr
        }
        if (str.type() != SHT_STRTAB) {
            throw b.error(hdr + 40, what + " links to section [" + str.index() + "] '" + str.name() + "' which is not a string table");
        }
        int count = (int) n;
        validateNames(b, sec.offset(), count, str.offset(), str.size(), what);
        long versym = -1;
        boolean dyn = type == SHT_DYNSYM;
        if (dyn) {
            for (Section s : secs) {
                if (s.type() == SHT_GNU_VERSYM && s.link() == sec.index() && !s.isNoBits() && s.size() >= 2L * count) {
                    versym = s.offset();
                    break;
                }
            }
        }
        SymbolTable t = new SymbolTable(b, dyn, sec.offset(), count, str.offset(), str.size(), versym);
        if (dyn) {
            for (Section s : secs) {
                if (s.link() == sec.index() && !s.isNoBits()) {
                    if (s.type() == SHT_GNU_HASH && !t.hashes.hasGnu()) {
                        t.hashes.initGnu(s.offset(), s.size(), "GNU hash table [" + s.index() + "]");
                    } else if (s.type() == SHT_HASH && !t.hashes.hasSysv()) {
                        t.hashes.initSysv(s.offset(), s.size(), "SysV hash table [" + s.index() + "]");
                    }
                }
            }
        }
        return t;
    }

    /** Every name index must lie at or before the string table's last NUL, so every name is terminated. */
    private static void validateNames(ElfBytes b, long symOffset, int count, long strOffset, long strSize, String what)
            throws ElfFormatException {
        long lastNul = -1;
        for (long i = strSize - 1; i >= 0; i--) {
            if (b.u8(strOffset + i) == 0) {
                lastNul = i;
                break;
            }
        }
        for (int i = 1; i < count; i++) {
            long e = symOffset + (long) i * ElfFile.SYM_SIZE;
            long nameIndex = b.u32(e);
            if (nameIndex > lastNul) {
                throw b.error(e, what + " entry " + i + ": name index 0x" + Long.toHexString(nameIndex)
                        + (nameIndex >= strSize ? " outside its string table (size 0x" + Long.toHexString(strSize) + ")"
                                : " has no NUL terminator inside its string table"));
            }
        }
    }

    /**
     * The dynamic symbol table as the loader finds it, from {@code PT_DYNAMIC} alone (a file without
     * section headers). Its size is not recorded anywhere: it comes from the SysV hash table's chain count
     * or from the end of the GNU hash table's last chain, so without a hash table there is no table.
     *
     * @return the table, or null when the dynamic section does not describe one
     */
    static SymbolTable fromDynamic(ElfBytes b, DynamicInfo d, List<ProgramHeader> loads) throws ElfFormatException {
        if (d.symtab() == -1 || d.strOffset() < 0 || (d.gnuHash() == -1 && d.sysvHash() == -1)) {
            return null;
        }
        if (d.syment() != -1 && d.syment() != ElfFile.SYM_SIZE) {
            throw b.error(d.dynamicOffset(), "DT_SYMENT is " + d.syment() + ", expected 24");
        }
        long where = d.dynamicOffset();
        long symOff = toFileOffset(b, loads, d.symtab(), "DT_SYMTAB", where);
        long count;
        long gnuAt = -1;
        long sysvAt = -1;
        if (d.gnuHash() != -1) {
            gnuAt = toFileOffset(b, loads, d.gnuHash(), "DT_GNU_HASH", where);
            count = SymbolHashes.countFromGnuHash(b, gnuAt);
        } else {
            sysvAt = toFileOffset(b, loads, d.sysvHash(), "DT_HASH", where);
            b.check(sysvAt, 8, "DT_HASH header");
            count = b.u32(sysvAt + 4);
        }
        if (count > ElfFile.MAX_SYMBOLS) {
            throw b.error(symOff, "dynamic symbol table has " + count + " entries, more than the limit " + ElfFile.MAX_SYMBOLS);
        }
        b.check(symOff, count * ElfFile.SYM_SIZE, "dynamic symbol table of " + count + " entries (DT_SYMTAB)");
        int n = (int) count;
        String what = "dynamic symbol table (DT_SYMTAB)";
        validateNames(b, symOff, n, d.strOffset(), d.strSize(), what);
        long versym = -1;
        if (d.versym() != -1) {
            long v = toFileOffset(b, loads, d.versym(), "DT_VERSYM", where);
            if (b.inRange(v, 2L * n)) {
                versym = v;
            }
        }
        SymbolTable t = new SymbolTable(b, true, symOff, n, d.strOffset(), d.strSize(), versym);
        if (gnuAt >= 0) {
            t.hashes.initGnu(gnuAt, b.size() - gnuAt, "GNU hash table (DT_GNU_HASH)");
            t.hashes.limitGnuChain(n);
        } else {
            t.hashes.initSysv(sysvAt, b.size() - sysvAt, "SysV hash table (DT_HASH)");
        }
        return t;
    }

    private static long toFileOffset(ElfBytes b, List<ProgramHeader> loads, long vaddr, String tag, long where)
            throws ElfFormatException {
        for (ProgramHeader l : loads) {
            if (Long.compareUnsigned(vaddr - l.vaddr(), l.fileSize()) < 0) {
                long off = l.offset() + (vaddr - l.vaddr());
                if (!b.inRange(off, 1)) {
                    break;
                }
                return off;
            }
        }
        throw b.error(where, tag + " address 0x" + Long.toHexString(vaddr) + " is in no PT_LOAD segment's file bytes");
    }

    int count() {
        return count;
    }

    boolean dynamic() {
        return dynamic;
    }

    boolean hasGnuHash() {
        return hashes.hasGnu();
    }

    boolean hasSysvHash() {
        return hashes.hasSysv();
    }

    static int gnuHash(byte[] key) {
        return SymbolHashes.gnuHash(key);
    }

    static int sysvHash(byte[] key) {
        return SymbolHashes.sysvHash(key);
    }

    /**
     * The index of the symbol named {@code key}: through the GNU hash table, else the SysV one, else a
     * scan. Where versions make a name appear more than once, the default (non-hidden) version wins.
     *
     * @return the index (&gt; 0), or -1
     */
    int lookup(byte[] key) {
        if (hashes.hasGnu() || hashes.hasSysv()) {
            return hashes.lookup(key, nameCheck, hiddenCheck);
        }
        return lookupScan(key);
    }

    private int lookupScan(byte[] key) {
        int hidden = -1;
        for (int i = 1; i < count; i++) {
            if (nameEquals(i, key)) {
                if (!isHidden(i)) {
                    return i;
                }
                if (hidden < 0) {
                    hidden = i;
                }
            }
        }
        return hidden;
    }

    private boolean isHidden(int i) {
        return versymOffset >= 0 && (b.u16(versymOffset + 2L * i) & VERSYM_HIDDEN) != 0;
    }

    private long entry(int i) {
        return offset + (long) i * ElfFile.SYM_SIZE;
    }

    private boolean nameEquals(int i, byte[] key) {
        long nameIndex = b.u32(entry(i));
        if (nameIndex + key.length >= strSize) {
            return false; // the name and its NUL would not fit
        }
        long at = strOffset + nameIndex;
        for (int k = 0; k < key.length; k++) {
            if (b.u8(at + k) != (key[k] & 0xff)) {
                return false;
            }
        }
        return b.u8(at + key.length) == 0;
    }

    String name(int i) {
        long nameIndex = b.u32(entry(i));
        // validated in load(): a NUL follows inside the table
        return b.cStringLenient(strOffset + nameIndex, strSize - nameIndex);
    }

    Symbol symbol(int i, String knownName) {
        long e = entry(i);
        int info = b.u8(e + 4);
        return new Symbol(knownName != null ? knownName : name(i), b.u64(e + 8), b.u64(e + 16), info & 0xf, info >>> 4,
                b.u16(e + 6), dynamic);
    }

    /** Prefers defined over undefined, then global over weak over local, then functions and objects. */
    int rank(int i) {
        long e = entry(i);
        int info = b.u8(e + 4);
        int bind = info >>> 4;
        int type = info & 0xf;
        int r = 0;
        if (b.u16(e + 6) != SHN_UNDEF) {
            r += 8;
        }
        if (bind == STB_GLOBAL || bind == STB_GNU_UNIQUE) {
            r += 4;
        } else if (bind == STB_WEAK) {
            r += 2;
        }
        if (type == STT_FUNC || type == STT_OBJECT || type == STT_GNU_IFUNC) {
            r += 1;
        }
        return r;
    }

    Map<String, int[]> buildNameIndex() {
        Map<String, int[]> m = new HashMap<>(count * 2);
        for (int i = 1; i < count; i++) {
            String n = name(i);
            if (n.isEmpty()) {
                continue;
            }
            int[] prev = m.get(n);
            if (prev == null) {
                m.put(n, new int[] {i});
            } else {
                int[] grown = java.util.Arrays.copyOf(prev, prev.length + 1);
                grown[prev.length] = i;
                m.put(n, grown);
            }
        }
        return m;
    }

    void addAll(List<Symbol> out) {
        for (int i = 1; i < count; i++) {
            out.add(symbol(i, null));
        }
    }
}
