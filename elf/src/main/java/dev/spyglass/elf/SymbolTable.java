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

    // GNU hash (DT_GNU_HASH), used when gnuBuckets > 0
    private int gnuBuckets;
    private long gnuSymOffset;
    private int gnuBloomWords;
    private int gnuBloomShift;
    private long gnuBloomAt;
    private long gnuBucketAt;
    private long gnuChainAt;
    private long gnuChainCount;

    // SysV hash (DT_HASH), used when sysvBuckets > 0 and there is no GNU hash
    private int sysvBuckets;
    private long sysvChains;
    private long sysvBucketAt;
    private long sysvChainAt;

    private SymbolTable(ElfBytes b, boolean dynamic, long offset, int count, long strOffset, long strSize, long versymOffset) {
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
                    if (s.type() == SHT_GNU_HASH && t.gnuBuckets == 0) {
                        t.initGnuHash(s.offset(), s.size(), "GNU hash table [" + s.index() + "]");
                    } else if (s.type() == SHT_HASH && t.sysvBuckets == 0) {
                        t.initSysvHash(s.offset(), s.size(), "SysV hash table [" + s.index() + "]");
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
            count = countFromGnuHash(b, gnuAt);
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
            t.initGnuHash(gnuAt, b.size() - gnuAt, "GNU hash table (DT_GNU_HASH)");
            t.gnuChainCount = Math.min(t.gnuChainCount, n - t.gnuSymOffset);
        } else {
            t.initSysvHash(sysvAt, b.size() - sysvAt, "SysV hash table (DT_HASH)");
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

    /** The symbol count implied by a GNU hash table: one past the end of the chain of the highest bucket. */
    private static long countFromGnuHash(ElfBytes b, long at) throws ElfFormatException {
        b.check(at, 16, "DT_GNU_HASH header");
        long nbuckets = b.u32(at);
        long symoffset = b.u32(at + 4);
        long bloomWords = b.u32(at + 8);
        long bucketAt = at + 16 + bloomWords * 8;
        b.check(bucketAt, nbuckets * 4, "DT_GNU_HASH buckets");
        long chainAt = bucketAt + nbuckets * 4;
        long max = 0;
        for (long i = 0; i < nbuckets; i++) {
            max = Math.max(max, b.u32(bucketAt + 4 * i));
        }
        if (max == 0) {
            return symoffset;
        }
        if (max < symoffset) {
            throw b.error(bucketAt, "DT_GNU_HASH bucket points to symbol " + max + ", below the first hashed symbol " + symoffset);
        }
        for (long i = max; i < ElfFile.MAX_SYMBOLS; i++) {
            long p = chainAt + 4 * (i - symoffset);
            b.check(p, 4, "DT_GNU_HASH chain entry of symbol " + i);
            if ((b.u32(p) & 1) != 0) {
                return i + 1;
            }
        }
        throw b.error(chainAt, "DT_GNU_HASH chain does not end within " + ElfFile.MAX_SYMBOLS + " symbols");
    }

    private void initGnuHash(long at, long size, String what) throws ElfFormatException {
        if (size < 16) {
            throw b.error(at, what + " is " + size + " bytes, shorter than its 16-byte header");
        }
        long nbuckets = b.u32(at);
        long symoffset = b.u32(at + 4);
        long bloomWords = b.u32(at + 8);
        long shift = b.u32(at + 12);
        if (nbuckets == 0 || bloomWords == 0) {
            throw b.error(at, what + " has " + nbuckets + " buckets and " + bloomWords + " bloom words; both must be > 0");
        }
        long tables = 16 + bloomWords * 8 + nbuckets * 4;
        if (tables > size) {
            throw b.error(at, what + ": " + bloomWords + " bloom words and " + nbuckets + " buckets need 0x"
                    + Long.toHexString(tables) + " bytes, the section has 0x" + Long.toHexString(size));
        }
        if (symoffset > count) {
            throw b.error(at + 4, what + ": first hashed symbol " + symoffset + " is beyond the " + count + " symbols");
        }
        gnuBuckets = (int) nbuckets;
        gnuSymOffset = symoffset;
        gnuBloomWords = (int) bloomWords;
        gnuBloomShift = (int) Math.min(shift, 63);
        gnuBloomAt = at + 16;
        gnuBucketAt = gnuBloomAt + bloomWords * 8;
        gnuChainAt = gnuBucketAt + nbuckets * 4;
        gnuChainCount = (at + size - gnuChainAt) / 4;
    }

    private void initSysvHash(long at, long size, String what) throws ElfFormatException {
        if (size < 8) {
            throw b.error(at, what + " is " + size + " bytes, shorter than its 8-byte header");
        }
        long nbucket = b.u32(at);
        long nchain = b.u32(at + 4);
        if (nbucket == 0) {
            throw b.error(at, what + " has no buckets");
        }
        if (8 + 4 * (nbucket + nchain) > size) {
            throw b.error(at, what + ": " + nbucket + " buckets and " + nchain + " chains do not fit in 0x"
                    + Long.toHexString(size) + " bytes");
        }
        sysvBuckets = (int) nbucket;
        sysvChains = nchain;
        sysvBucketAt = at + 8;
        sysvChainAt = sysvBucketAt + nbucket * 4;
    }

    int count() {
        return count;
    }

    boolean dynamic() {
        return dynamic;
    }

    boolean hasGnuHash() {
        return gnuBuckets > 0;
    }

    boolean hasSysvHash() {
        return sysvBuckets > 0;
    }

    static int gnuHash(byte[] key) {
        int h = 5381;
        for (byte c : key) {
            h = h * 33 + (c & 0xff);
        }
        return h;
    }

    static int sysvHash(byte[] key) {
        int h = 0;
        for (byte c : key) {
            h = (h << 4) + (c & 0xff);
            int g = h & 0xf0000000;
            if (g != 0) {
                h ^= g >>> 24;
            }
            h &= ~g;
        }
        return h;
    }

    /**
     * The index of the symbol named {@code key}: through the GNU hash table, else the SysV one, else a
     * scan. Where versions make a name appear more than once, the default (non-hidden) version wins.
     *
     * @return the index (&gt; 0), or -1
     */
    int lookup(byte[] key) {
        if (gnuBuckets > 0) {
            return lookupGnu(key);
        }
        if (sysvBuckets > 0) {
            return lookupSysv(key);
        }
        return lookupScan(key);
    }

    private int lookupGnu(byte[] key) {
        int h = gnuHash(key);
        long uh = h & 0xffffffffL;
        long word = b.u64(gnuBloomAt + 8 * ((uh >>> 6) % gnuBloomWords));
        long mask = (1L << (uh & 63)) | (1L << ((uh >>> gnuBloomShift) & 63));
        if ((word & mask) != mask) {
            return -1;
        }
        long i = b.u32(gnuBucketAt + 4 * (uh % gnuBuckets));
        if (i == 0 || i < gnuSymOffset) {
            return -1;
        }
        int hidden = -1;
        // Each step advances i; the bounds on i end a chain whose last-entry bit is never set.
        for (; i < count && i - gnuSymOffset < gnuChainCount; i++) {
            int ch = b.i32(gnuChainAt + 4 * (i - gnuSymOffset));
            if ((ch | 1) == (h | 1) && nameEquals((int) i, key)) {
                if (!isHidden((int) i)) {
                    return (int) i;
                }
                if (hidden < 0) {
                    hidden = (int) i;
                }
            }
            if ((ch & 1) != 0) {
                break;
            }
        }
        return hidden;
    }

    private int lookupSysv(byte[] key) {
        long h = sysvHash(key) & 0xffffffffL;
        long i = b.u32(sysvBucketAt + 4 * (h % sysvBuckets));
        int hidden = -1;
        // A corrupt chain can form a cycle: at most nchain steps.
        for (long steps = 0; i != 0 && i < count && i < sysvChains && steps <= sysvChains; steps++) {
            if (nameEquals((int) i, key)) {
                if (!isHidden((int) i)) {
                    return (int) i;
                }
                if (hidden < 0) {
                    hidden = (int) i;
                }
            }
            i = b.u32(sysvChainAt + 4 * i);
        }
        return hidden;
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
