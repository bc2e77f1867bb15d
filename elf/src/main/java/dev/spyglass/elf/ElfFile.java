package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A read-only view of one ELF64 little-endian file (x86-64 or AArch64): its header, program headers,
 * sections, symbols, dynamic entries and notes.
 *
 * <p>The file is never copied onto the heap: {@link #open(Path)} maps it into a {@link MemorySegment}
 * with its own arena, released by {@link #close()}; {@link #of(MemorySegment, String)} reads a segment
 * the caller owns. Every structure the accessors rely on (header, program and section header tables,
 * section ranges, string tables, symbol tables and their hash tables, dynamic section, notes,
 * {@code .gnu_debuglink}) is checked while opening, so a malformed file fails there with an
 * {@link ElfFormatException} that names the file, the problem and the file offset, and the accessors
 * afterwards never throw for the file's content. Look-up indexes ({@code .symtab} by name, symbols by
 * address) are built lazily on first use.
 *
 * <p>Limits: at most 2^20 sections, 2^16 program headers and 2^24 entries per symbol table (more is an
 * {@link ElfFormatException}); at most 2^16 dynamic entries and 2^16 notes per note section are read.
 * A file without section headers still gives its program headers, dynamic entries, notes and (through
 * {@code PT_DYNAMIC} and its hash table, as the dynamic loader finds them) its dynamic symbols.
 *
 * <p>Instances are safe for use by several threads. After {@link #close()}, accessors that read the
 * mapping throw {@link IllegalStateException}.
 */
public final class ElfFile implements AutoCloseable {

    /** Upper bound on section headers accepted (extended numbering allows up to 2^32). */
    static final int MAX_SECTIONS = 1 << 20;
    /** Upper bound on program headers accepted. */
    static final int MAX_PROGRAM_HEADERS = 1 << 16;
    /** Upper bound on entries of one symbol table. */
    static final int MAX_SYMBOLS = 1 << 24;
    /** Upper bound on dynamic entries read. */
    static final int MAX_DYNAMIC_ENTRIES = 1 << 16;
    /** Upper bound on notes parsed per note section or segment. */
    static final int MAX_NOTES = 1 << 16;

    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;
    static final int SYM_SIZE = 24;
    private static final long PAGE_SIZE = 4096;

    private final String name;
    private final ElfBytes in;
    private final Arena arena;

    private final int type;
    private final int machine;
    private final int osAbi;
    private final long entry;
    private final List<ProgramHeader> programHeaders;
    private final List<ProgramHeader> loadSegments;
    private final List<Section> sections;
    private final Map<String, Section> sectionsByName;

    private final SymbolTable dynsym;
    private final SymbolTable symtab;

    private final String interpreter;
    private final String soname;
    private final List<String> needed;
    private final byte[] buildId;
    private final DebugLink debugLink;

    private final Object lock = new Object();
    private volatile Map<String, int[]> symtabByName;
    private volatile List<Symbol> allSymbols;
    private volatile AddressIndex addressIndex;

    private ElfFile(String name, MemorySegment bytes, Arena arena) throws ElfFormatException {
        this.name = name;
        this.arena = arena;
        this.in = new ElfBytes(bytes.asReadOnly(), name);
        ElfBytes b = in;

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
        this.osAbi = b.u8(7);
        this.type = b.u16(16);
        this.machine = b.u16(18);
        if (machine != EM_X86_64 && machine != EM_AARCH64) {
            throw b.error(18, "ELF machine " + machine + " not supported (only x86-64 = 62 and AArch64 = 183)");
        }
        this.entry = b.u64(24);
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
        if (Long.compareUnsigned(shnum, MAX_SECTIONS) > 0) {
            throw b.error(60, "section count " + Long.toUnsignedString(shnum) + " exceeds the limit " + MAX_SECTIONS);
        }
        if (shnum > 0) {
            b.check(shoff, shnum * SHDR_SIZE, "section header table of " + shnum + " entries");
        }

        // --- program headers ------------------------------------------------------------------------
        if (phnum > MAX_PROGRAM_HEADERS) {
            throw b.error(56, "program header count " + phnum + " exceeds the limit " + MAX_PROGRAM_HEADERS);
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
        this.programHeaders = Collections.unmodifiableList(phdrs);
        this.loadSegments = Collections.unmodifiableList(loads);

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
        this.sections = Collections.unmodifiableList(secs);
        this.sectionsByName = byName;

        // --- symbol tables ---------------------------------------------------------------------------
        SymbolTable dynamicSymbols = SymbolTable.load(b, secs, SHT_DYNSYM, shoff);
        this.symtab = SymbolTable.load(b, secs, SHT_SYMTAB, shoff);

        // --- dynamic, interpreter, notes, debuglink ---------------------------------------------------
        DynamicInfo dyn = DynamicInfo.load(b, secs, phdrs, loads);
        if (secs.isEmpty()) {
            // No section headers (stripped with sstrip, or an image taken from memory): find .dynsym as the loader does.
            dynamicSymbols = SymbolTable.fromDynamic(b, dyn, loads);
        }
        this.dynsym = dynamicSymbols;
        this.soname = dyn.soname();
        this.needed = dyn.needed();
        this.interpreter = readInterpreter(b, secs, phdrs);
        this.buildId = Notes.findBuildId(b, secs, phdrs);
        this.debugLink = readDebugLink(b, byName.get(".gnu_debuglink"));
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

    /**
     * Maps the file at {@code path} read-only and parses it.
     *
     * @throws ElfFormatException when the file is not a well-formed ELF64 little-endian x86-64 or AArch64
     *                            file
     * @throws IOException        when the file cannot be opened or mapped
     */
    public static ElfFile open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new ElfFile(path.toString(), seg, arena);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses an ELF file held in memory. The segment is not copied: it must stay valid and unchanged
     * while the returned instance is used (the checks made here hold only for these bytes), and
     * {@link #close()} does not release it.
     *
     * @param bytes the file's bytes (heap or native)
     * @param name  how to name these bytes in error messages, e.g. a path
     * @throws ElfFormatException when the bytes are not a well-formed ELF64 little-endian x86-64 or
     *                            AArch64 file
     */
    public static ElfFile of(MemorySegment bytes, String name) throws ElfFormatException {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(name, "name");
        return new ElfFile(name, bytes, null);
    }

    /** The path or name given when opening. */
    public String name() {
        return name;
    }

    /** {@code e_type}: {@link ElfConstants#ET_EXEC}, {@link ElfConstants#ET_DYN}, ... */
    public int type() {
        return type;
    }

    /** True for a fixed-address executable ({@code ET_EXEC}, non-PIE). */
    public boolean isExecutable() {
        return type == ET_EXEC;
    }

    /** True for a shared object or position-independent executable ({@code ET_DYN}). */
    public boolean isSharedObject() {
        return type == ET_DYN;
    }

    /** {@code e_machine}: {@link ElfConstants#EM_X86_64} or {@link ElfConstants#EM_AARCH64}. */
    public int machine() {
        return machine;
    }

    /** {@code e_ident[EI_OSABI]}: 0 for System V, 3 for GNU (files using GNU extensions such as IFUNC). */
    public int osAbi() {
        return osAbi;
    }

    /** {@code e_entry}: the link-time entry point, 0 when there is none. */
    public long entry() {
        return entry;
    }

    /** All program headers in file order; empty when the file has none. */
    public List<ProgramHeader> programHeaders() {
        return programHeaders;
    }

    /** The {@code PT_LOAD} program headers in file order. */
    public List<ProgramHeader> loadSegments() {
        return loadSegments;
    }

    /** The program interpreter ({@code PT_INTERP}), e.g. {@code /lib64/ld-linux-x86-64.so.2}. */
    public Optional<String> interpreter() {
        return Optional.ofNullable(interpreter);
    }

    /** All section headers in table order (index 0 is the null section); empty when there are none. */
    public List<Section> sections() {
        return sections;
    }

    /** The first section with this exact name, e.g. {@code ".PyRuntime"}. */
    public Optional<Section> section(String name) {
        Objects.requireNonNull(name, "name");
        return Optional.ofNullable(sectionsByName.get(name));
    }

    /**
     * The contents of a section of this file as a read-only slice of the mapping; empty for
     * {@code SHT_NOBITS} sections (such as {@code .bss}) and sections of type {@code SHT_NULL}.
     *
     * @throws IllegalArgumentException when {@code s} is not one of this file's {@link #sections()}
     */
    public MemorySegment sectionData(Section s) {
        checkOwn(s);
        if (!hasFileData(s)) {
            return in.segment().asSlice(0, 0);
        }
        return in.segment().asSlice(s.offset(), s.size());
    }

    private void checkOwn(Section s) {
        Objects.requireNonNull(s, "section");
        if (s.index() < 0 || s.index() >= sections.size() || !sections.get(s.index()).equals(s)) {
            throw new IllegalArgumentException("section " + s.name() + " [" + s.index() + "] is not a section of " + name);
        }
    }

    /**
     * Looks a symbol up by exact name (without version suffix): first in {@code .dynsym} through its GNU
     * hash table (or SysV hash table, or a scan when it has neither), then in {@code .symtab}. A defined
     * symbol is preferred over an undefined one, a global over a local one, and in {@code .dynsym} the
     * default version over hidden ones.
     *
     * @return the symbol, or empty when no table has it
     */
    public Optional<Symbol> symbol(String name) {
        Objects.requireNonNull(name, "name");
        byte[] key = name.getBytes(StandardCharsets.UTF_8);
        int dynIndex = dynsym == null ? -1 : dynsym.lookup(key);
        if (dynIndex > 0) {
            Symbol s = dynsym.symbol(dynIndex, name);
            if (s.isDefined() || symtab == null) {
                return Optional.of(s);
            }
            Optional<Symbol> fromSymtab = symtabLookup(name);
            return fromSymtab.filter(Symbol::isDefined).or(() -> Optional.of(s));
        }
        return symtabLookup(name);
    }

    /**
     * Looks a symbol up in {@code .dynsym} only (through its hash table), never in {@code .symtab}: cheap
     * on a large unstripped object, where a {@code .symtab} miss first builds a name index of every
     * symbol (milliseconds for a libpython with debug symbols).
     *
     * @return the dynamic symbol (defined or not), or empty when {@code .dynsym} has none of that name
     */
    public Optional<Symbol> dynamicSymbol(String name) {
        Objects.requireNonNull(name, "name");
        if (dynsym == null) {
            return Optional.empty();
        }
        int dynIndex = dynsym.lookup(name.getBytes(StandardCharsets.UTF_8));
        return dynIndex > 0 ? Optional.of(dynsym.symbol(dynIndex, name)) : Optional.empty();
    }

    private Optional<Symbol> symtabLookup(String name) {
        if (symtab == null) {
            return Optional.empty();
        }
        int[] indexes = symtabIndex().get(name);
        if (indexes == null) {
            return Optional.empty();
        }
        int best = indexes[0];
        int bestRank = -1;
        for (int i : indexes) {
            int rank = symtab.rank(i);
            if (rank > bestRank) {
                bestRank = rank;
                best = i;
            }
        }
        return Optional.of(symtab.symbol(best, name));
    }

    private Map<String, int[]> symtabIndex() {
        Map<String, int[]> m = symtabByName;
        if (m == null) {
            synchronized (lock) {
                m = symtabByName;
                if (m == null) {
                    m = symtab.buildNameIndex();
                    symtabByName = m;
                }
            }
        }
        return m;
    }

    /**
     * Every symbol of {@code .dynsym} (in table order) followed by every symbol of {@code .symtab},
     * without the null entry at index 0 of each table. Built on first call and kept.
     */
    public List<Symbol> symbols() {
        List<Symbol> all = allSymbols;
        if (all == null) {
            synchronized (lock) {
                all = allSymbols;
                if (all == null) {
                    List<Symbol> list = new ArrayList<>((dynsym == null ? 0 : dynsym.count()) + (symtab == null ? 0 : symtab.count()));
                    if (dynsym != null) {
                        dynsym.addAll(list);
                    }
                    if (symtab != null) {
                        symtab.addAll(list);
                    }
                    all = Collections.unmodifiableList(list);
                    allSymbols = all;
                }
            }
        }
        return all;
    }

    /**
     * The defined function or object symbol whose range {@code [value, value + size)} contains the
     * link-time address {@code vaddr} (subtract the load bias from a run-time address first). Where
     * several do, a global one is preferred, then the one starting closest below. The sorted index is
     * built on first call.
     *
     * @return the symbol, or empty when none contains the address
     */
    public Optional<Symbol> symbolAt(long vaddr) {
        AddressIndex idx = addressIndex;
        if (idx == null) {
            synchronized (lock) {
                idx = addressIndex;
                if (idx == null) {
                    idx = AddressIndex.build(symbols());
                    addressIndex = idx;
                }
            }
        }
        return Optional.ofNullable(idx.find(vaddr));
    }

    /** {@code DT_SONAME} of the dynamic section, e.g. {@code libpython3.12.so.1.0}. */
    public Optional<String> soname() {
        return Optional.ofNullable(soname);
    }

    /** The {@code DT_NEEDED} entries in order; empty when there is no dynamic section. */
    public List<String> needed() {
        return needed;
    }

    /** The GNU build-id note's bytes (usually 20), or empty when the file has none. */
    public Optional<byte[]> buildId() {
        return buildId == null ? Optional.empty() : Optional.of(buildId.clone());
    }

    /** The GNU build-id as lower-case hex, as {@code readelf -n} and {@code file} print it. */
    public Optional<String> buildIdHex() {
        return buildId == null ? Optional.empty() : Optional.of(HexFormat.of().formatHex(buildId));
    }

    /** The {@code .gnu_debuglink} section's debug file name and CRC, or empty when absent. */
    public Optional<DebugLink> debugLink() {
        return Optional.ofNullable(debugLink);
    }

    /**
     * Finds the separate debug file of this file with the GDB rules, under {@code /usr/lib/debug}:
     * {@code /usr/lib/debug/.build-id/xx/rest.debug} by build-id; then by {@code .gnu_debuglink} name in the
     * file's directory, in its {@code .debug/} subdirectory, and in {@code /usr/lib/debug/<dir>}.
     *
     * @param fileOnDisk where this file is (its directory is used for the debuglink rules)
     * @return a readable candidate whose build-id (when both have one) matches, or empty
     */
    public Optional<Path> findDebugFile(Path fileOnDisk) {
        return findDebugFile(fileOnDisk, Path.of("/usr/lib/debug"));
    }

    /**
     * Like {@link #findDebugFile(Path)} with another global debug directory instead of
     * {@code /usr/lib/debug} (e.g. a container's root + {@code /usr/lib/debug}).
     */
    public Optional<Path> findDebugFile(Path fileOnDisk, Path debugRoot) {
        return DebugFiles.find(this, fileOnDisk, debugRoot);
    }

    /**
     * Searches a section's bytes for {@code pattern}, starting at {@code fromOffsetInSection} and looking
     * at no more than {@code maxBytes} bytes: the match must lie entirely inside both the section and that
     * window.
     *
     * @param fromOffsetInSection where to start, 0 .. section size
     * @param maxBytes            how many bytes to examine at most, &gt;= 0
     * @return the offset of the first match inside the section, or empty
     * @throws IllegalArgumentException when {@code s} is not one of this file's sections, or on a
     *                                  negative argument
     */
    public OptionalLong find(Section s, byte[] pattern, long fromOffsetInSection, long maxBytes) {
        checkOwn(s);
        Objects.requireNonNull(pattern, "pattern");
        if (fromOffsetInSection < 0 || maxBytes < 0) {
            throw new IllegalArgumentException("negative offset or length: " + fromOffsetInSection + ", " + maxBytes);
        }
        MemorySegment data = sectionData(s);
        if (fromOffsetInSection > data.byteSize()) {
            return OptionalLong.empty();
        }
        long end = Math.min(data.byteSize(), fromOffsetInSection + Math.min(maxBytes, Long.MAX_VALUE - fromOffsetInSection));
        long at = ByteSearch.indexOf(data, pattern, fromOffsetInSection, end);
        return at < 0 ? OptionalLong.empty() : OptionalLong.of(at);
    }

    /**
     * Finds a NUL-terminated printable ASCII string in a section that starts with {@code prefix} and looks
     * like a version: {@code major.minor.micro}, optionally a release tag
     * ({@code a1}, {@code b2}, {@code rc1}), a {@code +}, and then the end of the string or a space (so
     * {@code "3.11.2"} and {@code "3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]"} qualify, while
     * {@code "3.11"}, {@code "3.11.so"} or {@code "3.6 and greater"} do not). A string that starts right
     * after a NUL (a whole string) is preferred over one that is the tail of a longer string.
     *
     * @param prefix     the start of the string, e.g. {@code "3."} or {@code "3.11."}; not empty
     * @param maxMatches how many occurrences of {@code prefix} to examine at most, &gt;= 1
     * @return the whole string (up to its NUL or 256 characters), or empty
     */
    public Optional<String> findVersionString(Section s, String prefix, int maxMatches) {
        checkOwn(s);
        Objects.requireNonNull(prefix, "prefix");
        if (prefix.isEmpty() || maxMatches < 1) {
            throw new IllegalArgumentException("prefix must not be empty and maxMatches >= 1");
        }
        return ByteSearch.findVersionString(sectionData(s), prefix.getBytes(StandardCharsets.US_ASCII), maxMatches);
    }

    /**
     * The file offset holding the byte at link-time address {@code vaddr}, or -1 when no {@code PT_LOAD}
     * segment maps it from the file (including the zero-filled tail of a segment, such as {@code .bss}).
     */
    public long vaddrToFileOffset(long vaddr) {
        for (ProgramHeader p : loadSegments) {
            if (Long.compareUnsigned(vaddr - p.vaddr(), p.fileSize()) < 0) {
                return p.offset() + (vaddr - p.vaddr());
            }
        }
        return -1;
    }

    /** The link-time address where file offset {@code offset} is loaded, or -1 when no {@code PT_LOAD} maps it. */
    public long fileOffsetToVaddr(long offset) {
        for (ProgramHeader p : loadSegments) {
            if (p.containsFileOffset(offset)) {
                return p.vaddr() + (offset - p.offset());
            }
        }
        return -1;
    }

    /**
     * The load bias of this file in a process: the value to add to a link-time address (a symbol's
     * {@link Symbol#value()}) to get the run-time address. Give any mapping of this file from
     * {@code /proc/PID/maps}: its start address and its file offset.
     *
     * <p>The page where one segment's file bytes end and the next one's begin is mapped twice (once per
     * segment, e.g. the end of {@code .eh_frame} and the start of {@code .data.rel.ro}); a mapping that
     * starts at such a page is taken to be the start of the segment mapped from there, which is what the
     * loader creates. Mappings that only split a segment (RELRO, {@code mprotect}) work as well.
     *
     * @return 0 for a fixed-address executable ({@code ET_EXEC}); otherwise
     *         {@code mappingStart - (vaddr of mappingFileOffset)}
     * @throws IllegalArgumentException when no {@code PT_LOAD} segment covers the file offset
     */
    public long loadBias(long mappingStart, long mappingFileOffset) {
        if (type == ET_EXEC) {
            return 0;
        }
        ProgramHeader best = null;
        int bestRank = 0;
        for (ProgramHeader p : loadSegments) {
            // /proc/PID/maps offsets are page-aligned, so a segment's mapping starts below p_offset. The page
            // is 4 KiB on x86-64 and 4, 16 or 64 KiB on AArch64, where p_align is usually 64 KiB.
            long smallPageStart = p.offset() & -PAGE_SIZE;
            long largePageStart = p.offset() & -largestPage(p.alignment());
            long span = p.fileSize() == 0 ? 1 : p.fileSize();
            if (Long.compareUnsigned(mappingFileOffset, largePageStart) < 0) {
                continue;
            }
            int rank;
            if (mappingFileOffset == smallPageStart || mappingFileOffset == largePageStart) {
                rank = 3; // the loader's mapping of this segment starts here
            } else if (Long.compareUnsigned(mappingFileOffset, p.offset()) >= 0
                    && Long.compareUnsigned(mappingFileOffset - p.offset(), span) < 0) {
                rank = 2;
            } else if (Long.compareUnsigned(mappingFileOffset, p.offset()) < 0) {
                rank = 1;
            } else {
                continue;
            }
            if (rank > bestRank) {
                bestRank = rank;
                best = p;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("file offset 0x" + Long.toHexString(mappingFileOffset)
                    + " is in no PT_LOAD segment of " + name);
        }
        return mappingStart - mappingFileOffset - (best.vaddr() - best.offset());
    }

    /** The page size the segment's mapping may have been rounded to: its alignment, from 4 to 64 KiB. */
    private static long largestPage(long alignment) {
        if (alignment <= PAGE_SIZE || Long.bitCount(alignment) != 1) {
            return PAGE_SIZE;
        }
        return Math.min(alignment, 65536);
    }

    /** The whole file as a read-only segment. */
    public MemorySegment bytes() {
        return in.segment();
    }

    /** Releases the mapping made by {@link #open(Path)}; does nothing for {@link #of}. Idempotent. */
    @Override
    public void close() {
        if (arena != null) {
            synchronized (lock) {
                if (arena.scope().isAlive()) {
                    arena.close();
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ElfFile[" + name + "]";
    }

    // --- parsing helpers used while opening ------------------------------------------------------------

    private static String readInterpreter(ElfBytes b, List<Section> secs, List<ProgramHeader> phdrs) throws ElfFormatException {
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

    private static DebugLink readDebugLink(ElfBytes b, Section s) throws ElfFormatException {
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

    static boolean exists(Path p) {
        return Files.isRegularFile(p) && Files.isReadable(p);
    }
}
