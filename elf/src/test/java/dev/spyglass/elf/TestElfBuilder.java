package dev.spyglass.elf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes small, well-formed ELF64 x86-64 shared objects for tests: the shapes real toolchains make
 * (GNU or SysV hash, versioned symbols, notes, debuglink, no section headers), small enough to patch
 * byte by byte and to seed the fuzzer. {@link #sectionHeaderOffset} and {@link #sectionOffset} say
 * where to patch.
 */
final class TestElfBuilder {

    enum Hash { GNU, SYSV, NONE }

    record Sym(String name, long value, long size, int type, int bind, int shndx, boolean hidden) {
        static Sym func(String name, long value, long size) {
            return new Sym(name, value, size, ElfConstants.STT_FUNC, ElfConstants.STB_GLOBAL, TEXT, false);
        }

        static Sym object(String name, long value, long size) {
            return new Sym(name, value, size, ElfConstants.STT_OBJECT, ElfConstants.STB_GLOBAL, DATA, false);
        }
    }

    /** DT_SONAME, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SYMTAB, DT_SYMENT, DT_GNU_HASH or DT_HASH, DT_VERSYM, DT_NULL. */
    static final int DYNAMIC_ENTRIES = 9;

    /** Section indexes in every built file. */
    static final int NOTE = 1, HASH = 2, DYNSYM = 3, DYNSTR = 4, VERSYM = 5, TEXT = 6, RODATA = 7, DYNAMIC = 8, DATA = 9,
            BSS = 10, DEBUGLINK = 11, SYMTAB = 12, STRTAB = 13, SHSTRTAB = 14, COUNT = 15;

    private Hash hash = Hash.GNU;
    private int type = ElfConstants.ET_DYN;
    private final List<Sym> dynamic = new ArrayList<>();
    private final List<Sym> local = new ArrayList<>();
    private byte[] buildId = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef, 1, 2, 3, 4};
    private String debugLink = "test.debug";
    private int debugLinkCrc = 0x12345678;
    private String soname = "libtest.so.1";
    private byte[] rodata = "\0python3.11\0\u00003.11.2 (main, Mar 13 2023) [GCC]\0hello\0".getBytes(StandardCharsets.ISO_8859_1);
    private boolean sectionHeaders = true;
    private boolean compact;

    private final Map<Integer, Integer> shdrAt = new LinkedHashMap<>();
    private final Map<Integer, Integer> contentAt = new LinkedHashMap<>();
    private int shoff;

    TestElfBuilder hash(Hash h) {
        this.hash = h;
        return this;
    }

    TestElfBuilder type(int t) {
        this.type = t;
        return this;
    }

    TestElfBuilder dynamicSymbol(Sym s) {
        dynamic.add(s);
        return this;
    }

    TestElfBuilder localSymbol(Sym s) {
        local.add(s);
        return this;
    }

    TestElfBuilder buildId(byte[] id) {
        this.buildId = id;
        return this;
    }

    TestElfBuilder debugLink(String name, int crc) {
        this.debugLink = name;
        this.debugLinkCrc = crc;
        return this;
    }

    TestElfBuilder rodata(byte[] bytes) {
        this.rodata = bytes;
        return this;
    }

    /** Packs sections without the page-aligned gaps (for fuzzer seeds: libFuzzer prefers inputs under 4 KiB). */
    TestElfBuilder compact() {
        this.compact = true;
        return this;
    }

    TestElfBuilder withoutSectionHeaders() {
        this.sectionHeaders = false;
        return this;
    }

    /** A library with a few functions and objects, like a tiny libpython. */
    static TestElfBuilder typical() {
        return new TestElfBuilder()
                .dynamicSymbol(new Sym("malloc", 0, 0, ElfConstants.STT_FUNC, ElfConstants.STB_GLOBAL, 0, false))
                .dynamicSymbol(Sym.func("Py_Initialize", 0x1000, 0x40))
                .dynamicSymbol(Sym.func("PyEval_EvalCode", 0x1040, 0x80))
                .dynamicSymbol(Sym.object("_PyRuntime", 0x3000, 0x100))
                .dynamicSymbol(Sym.object("Py_Version", 0x2000, 8))
                .dynamicSymbol(new Sym("versioned", 0x1100, 4, ElfConstants.STT_FUNC, ElfConstants.STB_GLOBAL, TEXT, true))
                .dynamicSymbol(Sym.func("versioned", 0x10c0, 0x10))
                .localSymbol(new Sym("interp_head", 0x3100, 8, ElfConstants.STT_OBJECT, ElfConstants.STB_LOCAL, DATA, false))
                .localSymbol(new Sym("helper", 0x10d0, 0x20, ElfConstants.STT_FUNC, ElfConstants.STB_LOCAL, TEXT, false));
    }

    int sectionHeaderOffset(int index) {
        return shdrAt.get(index);
    }

    int sectionOffset(int index) {
        return contentAt.get(index);
    }

    int shoff() {
        return shoff;
    }

    byte[] build() {
        // dynsym order: null, undefined, then defined (the hashed part, grouped by GNU bucket)
        List<Sym> dyn = new ArrayList<>();
        dyn.add(null);
        dynamic.stream().filter(s -> s.shndx() == 0).forEach(dyn::add);
        int symoffset = dyn.size();
        List<Sym> defined = dynamic.stream().filter(s -> s.shndx() != 0).toList();
        int nbuckets = 3;
        List<Sym> sorted = new ArrayList<>(defined);
        sorted.sort((a, b) -> Integer.compareUnsigned(bucket(a, nbuckets), bucket(b, nbuckets)));
        dyn.addAll(hash == Hash.GNU ? sorted : defined);

        Strtab dynstr = new Strtab();
        Strtab strtab = new Strtab();
        Strtab shstr = new Strtab();
        int sonameIdx = dynstr.add(soname);
        int neededIdx = dynstr.add("libc.so.6");

        byte[] dynsymBytes = symbols(dyn, dynstr);
        List<Sym> sym = new ArrayList<>();
        sym.add(null);
        sym.addAll(local);
        sym.addAll(dynamic);
        byte[] symtabBytes = symbols(sym, strtab);

        byte[] hashBytes = switch (hash) {
            case GNU -> gnuHash(dyn, symoffset, nbuckets);
            case SYSV -> sysvHash(dyn);
            case NONE -> new byte[0];
        };
        ByteBuffer versym = le(2 * dyn.size());
        for (Sym s : dyn) {
            versym.putShort((short) (s == null ? 0 : s.hidden() ? 0x8002 : s.shndx() == 0 ? 1 : 2));
        }
        ByteBuffer note = le(16 + align(buildId.length, 4));
        note.putInt(4).putInt(buildId.length).putInt(ElfConstants.NT_GNU_BUILD_ID).put("GNU\0".getBytes(StandardCharsets.US_ASCII))
                .put(buildId);
        ByteBuffer dynamicBytes = le(16 * DYNAMIC_ENTRIES); // addresses are filled in once the layout is known
        byte[] linkName = debugLink.getBytes(StandardCharsets.UTF_8);
        ByteBuffer dl = le(align(linkName.length + 1, 4) + 4);
        dl.put(linkName).position(align(linkName.length + 1, 4));
        dl.putInt(debugLinkCrc);
        byte[] text = new byte[compact ? 0x20 : 0x200];
        byte[] data = new byte[compact ? 0x20 : 0x200];

        String[] names = {"", ".note.gnu.build-id", hash == Hash.SYSV ? ".hash" : ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version",
                ".text", ".rodata", ".dynamic", ".data", ".bss", ".gnu_debuglink", ".symtab", ".strtab", ".shstrtab"};
        int[] nameIdx = new int[COUNT];
        for (int i = 1; i < COUNT; i++) {
            nameIdx[i] = shstr.add(names[i]);
        }
        byte[][] contents = new byte[COUNT][];
        contents[NOTE] = note.array();
        contents[HASH] = hashBytes;
        contents[DYNSYM] = dynsymBytes;
        contents[DYNSTR] = dynstr.bytes();
        contents[VERSYM] = versym.array();
        contents[TEXT] = text;
        contents[RODATA] = rodata;
        contents[DYNAMIC] = dynamicBytes.array();
        contents[DATA] = data;
        contents[BSS] = new byte[0];
        contents[DEBUGLINK] = dl.array();
        contents[SYMTAB] = symtabBytes;
        contents[STRTAB] = strtab.bytes();
        contents[SHSTRTAB] = shstr.bytes();

        // fixed addresses for the sections the symbols point into
        long[] addr = new long[COUNT];
        int phnum = 3;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int pos = 64 + phnum * 56;
        int[] off = new int[COUNT];
        for (int i = 1; i < COUNT; i++) {
            int a = compact ? align(pos, 8) : Math.max(align(pos, 8), (i == TEXT) ? 0x1000 : (i == RODATA) ? 0x2000 : (i == DATA) ? 0x3000 : 0);
            if (i == BSS) {
                off[i] = pos;
                addr[i] = off[DATA] + contents[DATA].length;
                continue;
            }
            pos = a;
            off[i] = pos;
            pos += contents[i].length;
            if (i <= DATA) {
                addr[i] = off[i];
            }
        }
        long loadEnd = off[DATA] + contents[DATA].length;
        dynamicBytes.putLong(ElfConstants.DT_SONAME).putLong(sonameIdx).putLong(ElfConstants.DT_NEEDED).putLong(neededIdx)
                .putLong(ElfConstants.DT_STRTAB).putLong(off[DYNSTR]).putLong(ElfConstants.DT_STRSZ).putLong(contents[DYNSTR].length)
                .putLong(6).putLong(off[DYNSYM]) // DT_SYMTAB
                .putLong(11).putLong(24) // DT_SYMENT
                .putLong(hash == Hash.SYSV ? 4 : hash == Hash.GNU ? 0x6ffffef5L : ElfConstants.DT_NULL).putLong(off[HASH])
                .putLong(0x6ffffff0L).putLong(off[VERSYM]) // DT_VERSYM
                .putLong(ElfConstants.DT_NULL).putLong(0);
        shoff = align(pos, 8);
        int total = sectionHeaders ? shoff + COUNT * 64 : shoff;
        ByteBuffer f = le(total);
        f.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        f.position(16);
        f.putShort((short) type).putShort((short) ElfConstants.EM_X86_64).putInt(1).putLong(0x1000).putLong(64)
                .putLong(sectionHeaders ? shoff : 0).putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) phnum)
                .putShort((short) 64).putShort((short) (sectionHeaders ? COUNT : 0)).putShort((short) (sectionHeaders ? SHSTRTAB : 0));
        f.position(64);
        phdr(f, ElfConstants.PT_LOAD, ElfConstants.PF_R | ElfConstants.PF_W | ElfConstants.PF_X, 0, 0, loadEnd, loadEnd + 0x10, 0x1000);
        phdr(f, ElfConstants.PT_DYNAMIC, ElfConstants.PF_R | ElfConstants.PF_W, off[DYNAMIC], off[DYNAMIC], contents[DYNAMIC].length,
                contents[DYNAMIC].length, 8);
        phdr(f, ElfConstants.PT_NOTE, ElfConstants.PF_R, off[NOTE], off[NOTE], contents[NOTE].length, contents[NOTE].length, 4);
        for (int i = 1; i < COUNT; i++) {
            f.position(off[i]);
            if (i != BSS) {
                f.put(contents[i]);
            }
            contentAt.put(i, off[i]);
        }
        if (sectionHeaders) {
            int[] types = {0, ElfConstants.SHT_NOTE, hash == Hash.SYSV ? ElfConstants.SHT_HASH : ElfConstants.SHT_GNU_HASH,
                    ElfConstants.SHT_DYNSYM, ElfConstants.SHT_STRTAB, ElfConstants.SHT_GNU_VERSYM, ElfConstants.SHT_PROGBITS,
                    ElfConstants.SHT_PROGBITS, ElfConstants.SHT_DYNAMIC, ElfConstants.SHT_PROGBITS, ElfConstants.SHT_NOBITS,
                    ElfConstants.SHT_PROGBITS, ElfConstants.SHT_SYMTAB, ElfConstants.SHT_STRTAB, ElfConstants.SHT_STRTAB};
            for (int i = 0; i < COUNT; i++) {
                int h = shoff + i * 64;
                shdrAt.put(i, h);
                if (i == 0 || (i == HASH && hash == Hash.NONE)) {
                    continue; // the null section; without a hash table, a null entry in its place
                }
                int link = switch (i) {
                    case HASH, VERSYM -> DYNSYM;
                    case DYNSYM, DYNAMIC -> DYNSTR;
                    case SYMTAB -> STRTAB;
                    default -> 0;
                };
                long entsize = switch (i) {
                    case DYNSYM, SYMTAB -> 24;
                    case DYNAMIC -> 16;
                    case VERSYM -> 2;
                    default -> 0;
                };
                long flags = i <= DYNAMIC ? ElfConstants.SHF_ALLOC : i <= BSS ? ElfConstants.SHF_ALLOC | ElfConstants.SHF_WRITE : 0;
                if (i == TEXT) {
                    flags |= ElfConstants.SHF_EXECINSTR;
                }
                long size = i == BSS ? 0x10 : contents[i].length;
                f.position(h);
                f.putInt(nameIdx[i]).putInt(types[i]).putLong(flags).putLong(addr[i]).putLong(off[i]).putLong(size).putInt(link)
                        .putInt(i == SYMTAB ? 1 + local.size() : i == DYNSYM ? 1 : 0).putLong(i == NOTE ? 4 : 8).putLong(entsize);
            }
        }
        return f.array();
    }

    private static void phdr(ByteBuffer f, int type, int flags, long off, long vaddr, long filesz, long memsz, long align) {
        f.putInt(type).putInt(flags).putLong(off).putLong(vaddr).putLong(vaddr).putLong(filesz).putLong(memsz).putLong(align);
    }

    private static int bucket(Sym s, int nbuckets) {
        return Integer.remainderUnsigned(SymbolTable.gnuHash(s.name().getBytes(StandardCharsets.UTF_8)), nbuckets);
    }

    private static byte[] symbols(List<Sym> syms, Strtab str) {
        ByteBuffer b = le(24 * syms.size());
        for (Sym s : syms) {
            if (s == null) {
                b.position(b.position() + 24);
                continue;
            }
            b.putInt(str.add(s.name())).put((byte) ((s.bind() << 4) | s.type())).put((byte) 0).putShort((short) s.shndx())
                    .putLong(s.value()).putLong(s.size());
        }
        return b.array();
    }

    private static byte[] gnuHash(List<Sym> dyn, int symoffset, int nbuckets) {
        int shift = 6;
        int n = dyn.size();
        ByteBuffer b = le(16 + 8 + 4 * nbuckets + 4 * (n - symoffset));
        b.putInt(nbuckets).putInt(symoffset).putInt(1).putInt(shift);
        long bloom = 0;
        int[] buckets = new int[nbuckets];
        int[] chain = new int[n - symoffset];
        for (int i = symoffset; i < n; i++) {
            int h = SymbolTable.gnuHash(dyn.get(i).name().getBytes(StandardCharsets.UTF_8));
            bloom |= 1L << (h & 63);
            bloom |= 1L << ((h >>> shift) & 63);
            int bk = Integer.remainderUnsigned(h, nbuckets);
            if (buckets[bk] == 0) {
                buckets[bk] = i;
            }
            boolean last = i + 1 == n || Integer.remainderUnsigned(
                    SymbolTable.gnuHash(dyn.get(i + 1).name().getBytes(StandardCharsets.UTF_8)), nbuckets) != bk;
            chain[i - symoffset] = last ? h | 1 : h & ~1;
        }
        b.putLong(bloom);
        for (int v : buckets) {
            b.putInt(v);
        }
        for (int v : chain) {
            b.putInt(v);
        }
        return b.array();
    }

    private static byte[] sysvHash(List<Sym> dyn) {
        int nbucket = 3;
        int n = dyn.size();
        int[] bucket = new int[nbucket];
        int[] chain = new int[n];
        for (int i = 1; i < n; i++) {
            int h = Integer.remainderUnsigned(SymbolTable.sysvHash(dyn.get(i).name().getBytes(StandardCharsets.UTF_8)), nbucket);
            chain[i] = bucket[h];
            bucket[h] = i;
        }
        ByteBuffer b = le(8 + 4 * (nbucket + n));
        b.putInt(nbucket).putInt(n);
        for (int v : bucket) {
            b.putInt(v);
        }
        for (int v : chain) {
            b.putInt(v);
        }
        return b.array();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int align(int v, int a) {
        return (v + a - 1) & -a;
    }

    private static final class Strtab {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final Map<String, Integer> seen = new LinkedHashMap<>();

        Strtab() {
            out.write(0);
            seen.put("", 0);
        }

        int add(String s) {
            return seen.computeIfAbsent(s, k -> {
                int at = out.size();
                out.writeBytes(k.getBytes(StandardCharsets.UTF_8));
                out.write(0);
                return at;
            });
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
