package dev.spyglass.elf;

/**
 * Numeric constants of the ELF64 format (from the System V gABI and the GNU extensions) that the
 * values exposed by {@link ElfFile}, {@link Section}, {@link ProgramHeader} and {@link Symbol} are
 * compared against.
 */
public final class ElfConstants {
    private ElfConstants() {
    }

    // e_type
    /** No file type. */
    public static final int ET_NONE = 0;
    /** Relocatable object. */
    public static final int ET_REL = 1;
    /** Executable at a fixed address (non-PIE). */
    public static final int ET_EXEC = 2;
    /** Shared object, including position-independent executables. */
    public static final int ET_DYN = 3;
    /** Core file. */
    public static final int ET_CORE = 4;

    // e_machine
    /** AMD x86-64. */
    public static final int EM_X86_64 = 62;
    /** ARM 64-bit. */
    public static final int EM_AARCH64 = 183;

    // p_type
    public static final int PT_NULL = 0;
    public static final int PT_LOAD = 1;
    public static final int PT_DYNAMIC = 2;
    public static final int PT_INTERP = 3;
    public static final int PT_NOTE = 4;
    public static final int PT_PHDR = 6;
    public static final int PT_TLS = 7;
    public static final int PT_GNU_EH_FRAME = 0x6474e550;
    public static final int PT_GNU_STACK = 0x6474e551;
    public static final int PT_GNU_RELRO = 0x6474e552;

    // p_flags
    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;

    // sh_type
    public static final int SHT_NULL = 0;
    public static final int SHT_PROGBITS = 1;
    public static final int SHT_SYMTAB = 2;
    public static final int SHT_STRTAB = 3;
    public static final int SHT_RELA = 4;
    public static final int SHT_HASH = 5;
    public static final int SHT_DYNAMIC = 6;
    public static final int SHT_NOTE = 7;
    public static final int SHT_NOBITS = 8;
    public static final int SHT_DYNSYM = 11;
    public static final int SHT_GNU_HASH = 0x6ffffff6;
    public static final int SHT_GNU_VERSYM = 0x6fffffff;

    // sh_flags
    public static final long SHF_WRITE = 0x1;
    public static final long SHF_ALLOC = 0x2;
    public static final long SHF_EXECINSTR = 0x4;

    // special section indices
    public static final int SHN_UNDEF = 0;
    public static final int SHN_LORESERVE = 0xff00;
    public static final int SHN_ABS = 0xfff1;
    public static final int SHN_COMMON = 0xfff2;
    public static final int SHN_XINDEX = 0xffff;

    // symbol types (st_info & 0xf)
    public static final int STT_NOTYPE = 0;
    public static final int STT_OBJECT = 1;
    public static final int STT_FUNC = 2;
    public static final int STT_SECTION = 3;
    public static final int STT_FILE = 4;
    public static final int STT_COMMON = 5;
    public static final int STT_TLS = 6;
    public static final int STT_GNU_IFUNC = 10;

    // symbol bindings (st_info >> 4)
    public static final int STB_LOCAL = 0;
    public static final int STB_GLOBAL = 1;
    public static final int STB_WEAK = 2;
    public static final int STB_GNU_UNIQUE = 10;

    // d_tag
    public static final long DT_NULL = 0;
    public static final long DT_NEEDED = 1;
    public static final long DT_STRTAB = 5;
    public static final long DT_STRSZ = 10;
    public static final long DT_SONAME = 14;

    // note types
    /** Note type of the GNU build-id ({@code NT_GNU_BUILD_ID}), with owner name "GNU". */
    public static final int NT_GNU_BUILD_ID = 3;
}
