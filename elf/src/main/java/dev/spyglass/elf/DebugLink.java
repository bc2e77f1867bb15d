package dev.spyglass.elf;

import java.util.Objects;

/**
 * The contents of a {@code .gnu_debuglink} section: the file name of the separate debug file and
 * the CRC-32 (the zlib/IEEE polynomial) of its whole contents.
 *
 * @param fileName the debug file's name, without directory (e.g. {@code libpython3.12.so.1.0.debug})
 * @param crc32    the CRC-32 of the debug file
 */
public record DebugLink(String fileName, int crc32) {
    public DebugLink {
        Objects.requireNonNull(fileName, "fileName");
    }
}
