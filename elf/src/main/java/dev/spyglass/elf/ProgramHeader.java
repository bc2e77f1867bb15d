package dev.spyglass.elf;

/**
 * One program header (segment).
 *
 * @param type      {@code p_type}, e.g. {@code ElfConstants.PT_LOAD}
 * @param flags     {@code p_flags}: {@code PF_R | PF_W | PF_X}
 * @param offset    {@code p_offset}: file offset of the segment
 * @param vaddr     {@code p_vaddr}: link-time virtual address
 * @param fileSize  {@code p_filesz}: bytes taken from the file (may point past the end of a separate
 *                  debug file, whose program headers describe the original)
 * @param memSize   {@code p_memsz}: bytes in memory, at least {@code fileSize} for a load segment
 * @param alignment {@code p_align}
 */
public record ProgramHeader(int type, int flags, long offset, long vaddr, long fileSize, long memSize,
        long alignment) {

    /** True for {@code PT_LOAD}. */
    public boolean isLoad() {
        return type == ElfConstants.PT_LOAD;
    }

    public boolean isReadable() {
        return (flags & ElfConstants.PF_R) != 0;
    }

    public boolean isWritable() {
        return (flags & ElfConstants.PF_W) != 0;
    }

    public boolean isExecutable() {
        return (flags & ElfConstants.PF_X) != 0;
    }

    /** True when {@code vaddr} lies in {@code [vaddr(), vaddr() + memSize())}. */
    public boolean containsAddress(long address) {
        return Long.compareUnsigned(address - vaddr, memSize) < 0;
    }

    /** True when the file offset lies in {@code [offset(), offset() + fileSize())}. */
    public boolean containsFileOffset(long fileOffset) {
        return Long.compareUnsigned(fileOffset - offset, fileSize) < 0;
    }
}
