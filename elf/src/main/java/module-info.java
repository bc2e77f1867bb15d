/**
 * A bounds-checked ELF64 reader: headers, sections, symbols, notes. It knows nothing about Python or
 * processes; every offset taken from a file is checked, and a malformed file gives
 * {@link dev.spyglass.elf.ElfFormatException}.
 */
module dev.spyglass.elf {
    exports dev.spyglass.elf;
}
