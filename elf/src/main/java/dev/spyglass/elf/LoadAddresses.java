package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.ET_EXEC;

import java.util.List;

/** Link-time addresses, file offsets and run-time mappings of an ELF file's {@code PT_LOAD} segments. */
final class LoadAddresses {
    private static final long PAGE_SIZE = 4096;

    private LoadAddresses() {
    }

    /**
     * The file offset holding the byte at link-time address {@code vaddr}, or -1 when no {@code PT_LOAD}
     * segment maps it from the file (including the zero-filled tail of a segment, such as {@code .bss}).
     */
    static long vaddrToFileOffset(List<ProgramHeader> loadSegments, long vaddr) {
        for (ProgramHeader p : loadSegments) {
            if (Long.compareUnsigned(vaddr - p.vaddr(), p.fileSize()) < 0) {
                return p.offset() + (vaddr - p.vaddr());
            }
        }
        return -1;
    }

    /** The link-time address where file offset {@code offset} is loaded, or -1 when no {@code PT_LOAD} maps it. */
    static long fileOffsetToVaddr(List<ProgramHeader> loadSegments, long offset) {
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
    static long loadBias(int type, List<ProgramHeader> loadSegments, String name, long mappingStart,
            long mappingFileOffset) {
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
}
