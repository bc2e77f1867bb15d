package dev.spyglass.elf;

import java.io.IOException;

/**
 * The bytes given as an ELF file are not a well-formed ELF64 little-endian object, or a structure
 * inside points outside the file. The message names the file, what was wrong and at which offset.
 */
public final class ElfFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final long offset;

    /**
     * @param source what was being read (a file path or a description of the bytes)
     * @param offset the file offset where the problem was found, or -1 when it has none
     * @param problem what was wrong
     */
    public ElfFormatException(String source, long offset, String problem) {
        super(source + ": " + problem + (offset >= 0 ? " (at offset 0x" + Long.toHexString(offset) + ")" : ""));
        this.source = source;
        this.offset = offset;
    }

    /** The file path or description of the bytes being read. */
    public String source() {
        return source;
    }

    /** The file offset where the problem was found, or -1 when it has none. */
    public long offset() {
        return offset;
    }
}
