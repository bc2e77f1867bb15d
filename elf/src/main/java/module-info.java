/**
 * A bounds-checked ELF64 reader: headers, sections, symbols, notes. It knows nothing about Python or
 * processes; every offset taken from a file is checked, and a malformed file gives
 * {@link dev.spyglass.elf.ElfFormatException}.
 */
module dev.spyglass.elf {
    requires org.slf4j;

    exports dev.spyglass.elf;
}
