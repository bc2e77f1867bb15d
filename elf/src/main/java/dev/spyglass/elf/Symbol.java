package dev.spyglass.elf;

import java.util.Objects;

/**
 * One entry of {@code .dynsym} or {@code .symtab}.
 *
 * @param name         the symbol name without any version suffix; never null, may be empty
 * @param value        {@code st_value}: for a defined symbol of an executable or shared object, its
 *                     link-time virtual address (add {@link ElfFile#loadBias} for the run-time one)
 * @param size         {@code st_size} in bytes, 0 when unknown
 * @param type         {@code ELF64_ST_TYPE}, one of {@code ElfConstants.STT_*}
 * @param binding      {@code ELF64_ST_BIND}, one of {@code ElfConstants.STB_*}
 * @param sectionIndex {@code st_shndx}: the index of the section it is defined in, 0 (SHN_UNDEF) when
 *                     undefined, or a reserved index such as {@code SHN_ABS} (0xfff1)
 * @param dynamic      true when it comes from {@code .dynsym}, false when from {@code .symtab}
 */
public record Symbol(String name, long value, long size, int type, int binding, int sectionIndex, boolean dynamic) {

    public Symbol {
        Objects.requireNonNull(name, "name");
    }

    /** True unless the symbol is undefined here (section index {@code SHN_UNDEF}). */
    public boolean isDefined() {
        return sectionIndex != ElfConstants.SHN_UNDEF;
    }

    /** True for {@code STT_FUNC} and {@code STT_GNU_IFUNC}. */
    public boolean isFunction() {
        return type == ElfConstants.STT_FUNC || type == ElfConstants.STT_GNU_IFUNC;
    }

    /** True for {@code STT_OBJECT} (data). */
    public boolean isObject() {
        return type == ElfConstants.STT_OBJECT;
    }

    /** True when {@code vaddr} lies in {@code [value, value + size)}; false for a symbol of size 0. */
    public boolean contains(long vaddr) {
        return size > 0 && Long.compareUnsigned(vaddr - value, size) < 0;
    }
}
