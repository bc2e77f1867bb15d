package dev.spyglass.elf;

/**
 * The hash tables of a dynamic symbol table ({@code DT_GNU_HASH}, else {@code DT_HASH}): validated
 * when set up, walked with a step limit and bounds checks so that a corrupt chain ends a look-up
 * instead of looping. Split from {@link SymbolTable}, which owns the symbols and names.
 */
final class SymbolHashes {
    /** Whether symbol {@code i} is named {@code key}. */
    interface NameCheck {
        boolean test(int i, byte[] key);
    }

    /** Whether symbol {@code i} is a hidden (non-default) version. */
    interface HiddenCheck {
        boolean test(int i);
    }

    private final ElfBytes b;
    private final int count;

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

    SymbolHashes(ElfBytes b, int count) {
        this.b = b;
        this.count = count;
    }

    boolean hasGnu() {
        return gnuBuckets > 0;
    }

    boolean hasSysv() {
        return sysvBuckets > 0;
    }

    /** A chain never runs past the symbol table (DT_GNU_HASH found through the dynamic section has no size). */
    void limitGnuChain(int symbols) {
        gnuChainCount = Math.min(gnuChainCount, symbols - gnuSymOffset);
    }

    /** The index of the symbol named {@code key} through the GNU table, else the SysV one; -1 when none. */
    int lookup(byte[] key, NameCheck names, HiddenCheck hidden) {
        return gnuBuckets > 0 ? lookupGnu(key, names, hidden) : lookupSysv(key, names, hidden);
    }

    /** The symbol count implied by a GNU hash table: one past the end of the chain of the highest bucket. */
    static long countFromGnuHash(ElfBytes b, long at) throws ElfFormatException {
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

    void initGnu(long at, long size, String what) throws ElfFormatException {
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

    void initSysv(long at, long size, String what) throws ElfFormatException {
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

    private int lookupGnu(byte[] key, NameCheck names, HiddenCheck hiddenCheck) {
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
            if ((ch | 1) == (h | 1) && names.test((int) i, key)) {
                if (!hiddenCheck.test((int) i)) {
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

    private int lookupSysv(byte[] key, NameCheck names, HiddenCheck hiddenCheck) {
        long h = sysvHash(key) & 0xffffffffL;
        long i = b.u32(sysvBucketAt + 4 * (h % sysvBuckets));
        int hidden = -1;
        // A corrupt chain can form a cycle: at most nchain steps.
        for (long steps = 0; i != 0 && i < count && i < sysvChains && steps <= sysvChains; steps++) {
            if (names.test((int) i, key)) {
                if (!hiddenCheck.test((int) i)) {
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
}
