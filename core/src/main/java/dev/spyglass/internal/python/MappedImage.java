package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.ElfFormatException;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The ELF image of a mapped object rebuilt from the target's memory, for a file deleted or replaced on
 * disk (a package upgrade renames a new libpython over the one a process runs) when
 * {@code /proc/PID/map_files} cannot be opened (it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
 *
 * <p>Each file-backed mapping of the object is copied to its file offset, so the loaded segments are
 * where the file had them: ELF and program headers, {@code .dynsym}, {@code .dynstr}, the hash tables.
 * What the loader never maps is missing (section headers, {@code .symtab}): the section header
 * fields are cleared, and the reader finds the dynamic symbols through {@code PT_DYNAMIC} as the
 * loader does. glibc adds the load bias to the address entries of a writable {@code .dynamic} in place
 * (x86-64, AArch64), so they are taken back to link-time addresses. Enough for a CPython that exports
 * {@code _PyRuntime} (3.7+); 2.7 and 3.6 keep {@code interp_head} in {@code .symtab} only.
 */
final class MappedImage {
    private static final Logger LOG = LoggerFactory.getLogger(MappedImage.class);
    /** A libpython's mappings span ~30 MB; a larger span is not an interpreter worth copying. */
    private static final long MAX_IMAGE = 256L << 20;
    private static final int PT_DYNAMIC = 2;
    private static final long DT_NULL = 0;

    private MappedImage() {
    }

    /** The address-valued {@code .dynamic} tags glibc relocates in place ({@code elf_get_dynamic_info}). */
    private static boolean relocatedTag(long tag) {
        return tag == 3 /* DT_PLTGOT */ || tag == 4 /* DT_HASH */ || tag == 5 /* DT_STRTAB */
                || tag == 6 /* DT_SYMTAB */ || tag == 7 /* DT_RELA */ || tag == 17 /* DT_REL */
                || tag == 23 /* DT_JMPREL */ || tag == 36 /* DT_RELR */ || tag == 0x6ffffef5L /* DT_GNU_HASH */
                || tag == 0x6ffffff0L /* DT_VERSYM */;
    }

    /**
     * Copies the object's mappings out of the target and parses them, or empty when they do not hold a
     * readable ELF image. The image lives in {@code arena}.
     */
    static Optional<ElfFile> read(String path, List<ProcessMap.Mapping> mappings, RemoteMemory memory, Arena arena)
            throws SpyglassException {
        long size = 0;
        ProcessMap.Mapping headerMapping = null;
        for (ProcessMap.Mapping m : mappings) {
            size = Math.max(size, m.fileOffset() + (m.end() - m.start()));
            if (m.fileOffset() == 0 && m.readable()) {
                headerMapping = m;
            }
        }
        if (headerMapping == null || size > MAX_IMAGE) {
            return Optional.empty();
        }
        MemorySegment image = arena.allocate(size, 4096);
        for (ProcessMap.Mapping m : mappings) {
            if (m.readable()) {
                memory.readPartial(m.start(), image.asSlice(m.fileOffset(), m.end() - m.start()));
            }
        }
        if (image.get(ValueLayout.JAVA_INT_UNALIGNED, 0) != 0x464c457f) { // "\x7fELF"
            return Optional.empty();
        }
        // No section headers: they lie after the last segment and were never mapped.
        image.set(ValueLayout.JAVA_LONG_UNALIGNED, 40, 0L); // e_shoff
        image.set(ValueLayout.JAVA_SHORT_UNALIGNED, 60, (short) 0); // e_shnum
        image.set(ValueLayout.JAVA_SHORT_UNALIGNED, 62, (short) 0); // e_shstrndx
        long bias = bias(image, headerMapping.start());
        if (bias != 0) {
            // Before the reader sees it: it checks that DT_STRTAB lies in a PT_LOAD segment.
            unrelocateDynamic(image, bias);
        }
        try {
            return Optional.of(ElfFile.of(image, path + " (image mapped in the process)"));
        } catch (ElfFormatException | RuntimeException e) {
            LOG.debug("no ELF image of {} in memory: {}", path, e.toString());
            return Optional.empty();
        }
    }

    /** Program header {@code i}'s offset in the image, or -1 when the table does not fit. */
    private static long programHeader(MemorySegment image, int i) {
        long phoff = image.get(ValueLayout.JAVA_LONG_UNALIGNED, 32);
        int phentsize = Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 54));
        long at = phoff + (long) i * phentsize;
        return phentsize >= 56 && phoff > 0 && at + 56 <= image.byteSize() ? at : -1;
    }

    private static int programHeaders(MemorySegment image) {
        return Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 56));
    }

    /** The load bias: 0 for ET_EXEC, else where the first PT_LOAD (file offset 0) was mapped less its address. */
    private static long bias(MemorySegment image, long headerStart) {
        if (image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 16) == 2) { // ET_EXEC
            return 0;
        }
        for (int i = 0; i < programHeaders(image); i++) {
            long h = programHeader(image, i);
            if (h >= 0 && image.get(ValueLayout.JAVA_INT_UNALIGNED, h) == 1 // PT_LOAD
                    && image.get(ValueLayout.JAVA_LONG_UNALIGNED, h + 8) == 0) {
                return headerStart - (image.get(ValueLayout.JAVA_LONG_UNALIGNED, h + 16) & -4096L);
            }
        }
        return 0;
    }

    private static void unrelocateDynamic(MemorySegment image, long bias) {
        for (int i = 0; i < programHeaders(image); i++) {
            long h = programHeader(image, i);
            if (h < 0 || image.get(ValueLayout.JAVA_INT_UNALIGNED, h) != PT_DYNAMIC) {
                continue;
            }
            long off = image.get(ValueLayout.JAVA_LONG_UNALIGNED, h + 8);
            long fileSize = image.get(ValueLayout.JAVA_LONG_UNALIGNED, h + 32);
            if (off < 0 || fileSize < 0 || off > image.byteSize()) {
                return;
            }
            long end = Math.min(off + fileSize, image.byteSize());
            for (long e = off; e + 16 <= end; e += 16) {
                long tag = image.get(ValueLayout.JAVA_LONG_UNALIGNED, e);
                if (tag == DT_NULL) {
                    break;
                }
                long value = image.get(ValueLayout.JAVA_LONG_UNALIGNED, e + 8);
                // Only a value at or above the bias was relocated (a loader that leaves a read-only
                // .dynamic alone, as on RISC-V, keeps link-time addresses far below it).
                if (relocatedTag(tag) && Long.compareUnsigned(value, bias) >= 0) {
                    image.set(ValueLayout.JAVA_LONG_UNALIGNED, e + 8, value - bias);
                }
            }
        }
    }
}
