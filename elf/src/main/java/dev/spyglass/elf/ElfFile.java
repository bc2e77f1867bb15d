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

    static final int SYM_SIZE = 24;

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

    private final ElfSymbols symbols;

    private final String interpreter;
    private final String soname;
    private final List<String> needed;
    private final byte[] buildId;
    private final DebugLink debugLink;

    private final Object lock = new Object();

    private ElfFile(String name, MemorySegment bytes, Arena arena) throws ElfFormatException {
        this.name = name;
        this.arena = arena;
        this.in = new ElfBytes(bytes.asReadOnly(), name);
        ElfBytes b = in;

        ElfHeaders h = ElfHeaders.parse(b);
        this.osAbi = h.osAbi();
        this.type = h.type();
        this.machine = h.machine();
        this.entry = h.entry();
        this.programHeaders = h.programHeaders();
        this.loadSegments = h.loadSegments();
        this.sections = h.sections();
        this.sectionsByName = h.sectionsByName();
        List<Section> secs = h.sections();
        List<ProgramHeader> phdrs = h.programHeaders();
        List<ProgramHeader> loads = h.loadSegments();
        long shoff = h.sectionHeaderOffset();

        // --- symbol tables ---------------------------------------------------------------------------
        SymbolTable dynamicSymbols = SymbolTable.load(b, secs, SHT_DYNSYM, shoff);
        SymbolTable symtab = SymbolTable.load(b, secs, SHT_SYMTAB, shoff);

        // --- dynamic, interpreter, notes, debuglink ---------------------------------------------------
        DynamicInfo dyn = DynamicInfo.load(b, secs, phdrs, loads);
        if (secs.isEmpty()) {
            // No section headers (stripped with sstrip, or an image taken from memory): find .dynsym as the loader does.
            dynamicSymbols = SymbolTable.fromDynamic(b, dyn, loads);
        }
        this.symbols = new ElfSymbols(dynamicSymbols, symtab);
        this.soname = dyn.soname();
        this.needed = dyn.needed();
        this.interpreter = ElfHeaders.readInterpreter(b, secs, phdrs);
        this.buildId = Notes.findBuildId(b, secs, phdrs);
        this.debugLink = ElfHeaders.readDebugLink(b, h.sectionsByName().get(".gnu_debuglink"));
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
        if (!ElfHeaders.hasFileData(s)) {
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
        return symbols.symbol(name);
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
        return symbols.dynamicSymbol(name);
    }

    /**
     * Every symbol of {@code .dynsym} (in table order) followed by every symbol of {@code .symtab},
     * without the null entry at index 0 of each table. Built on first call and kept.
     */
    public List<Symbol> symbols() {
        return symbols.symbols();
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
        return symbols.symbolAt(vaddr);
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
        return LoadAddresses.vaddrToFileOffset(loadSegments, vaddr);
    }

    /** The link-time address where file offset {@code offset} is loaded, or -1 when no {@code PT_LOAD} maps it. */
    public long fileOffsetToVaddr(long offset) {
        return LoadAddresses.fileOffsetToVaddr(loadSegments, offset);
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
        return LoadAddresses.loadBias(type, loadSegments, name, mappingStart, mappingFileOffset);
    }

    /** The bounds-checked reader of this file's bytes (the call-frame reader uses it). */
    ElfBytes elfBytes() {
        return in;
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

    static boolean exists(Path p) {
        return Files.isRegularFile(p) && Files.isReadable(p);
    }
}
