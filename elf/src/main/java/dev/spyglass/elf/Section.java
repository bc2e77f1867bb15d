package dev.spyglass.elf;

import java.util.Objects;

/**
 * One section header, with its name resolved. The contents are read with
 * {@link ElfFile#sectionData(Section)}.
 *
 * @param index     position in the section header table (0 is the null section)
 * @param name      the name from the section name string table, e.g. {@code .rodata}; empty when absent
 * @param type      {@code sh_type}, one of {@code ElfConstants.SHT_*} or another value
 * @param flags     {@code sh_flags} ({@code ElfConstants.SHF_*})
 * @param address   {@code sh_addr}: link-time virtual address, 0 when not allocated
 * @param offset    {@code sh_offset}: file offset of the contents
 * @param size      {@code sh_size} in bytes (for {@code SHT_NOBITS}, the size in memory only)
 * @param entrySize {@code sh_entsize}, 0 when the section is not a table
 * @param link      {@code sh_link}
 * @param info      {@code sh_info}
 * @param alignment {@code sh_addralign}
 */
public record Section(int index, String name, int type, long flags, long address, long offset, long size,
        long entrySize, int link, int info, long alignment) {

    public Section {
        Objects.requireNonNull(name, "name");
    }

    /** True for {@code SHT_NOBITS} ({@code .bss}): it occupies memory but no bytes of the file. */
    public boolean isNoBits() {
        return type == ElfConstants.SHT_NOBITS;
    }

    /** True when {@code SHF_ALLOC} is set: the section is mapped into memory at run time. */
    public boolean isAllocated() {
        return (flags & ElfConstants.SHF_ALLOC) != 0;
    }

    /** True when {@code vaddr} lies in {@code [address, address + size)} of an allocated section. */
    public boolean containsAddress(long vaddr) {
        return isAllocated() && Long.compareUnsigned(vaddr - address, size) < 0;
    }
}
