package dev.spyglass.elf;

import static dev.spyglass.elf.ElfConstants.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** Walks ELF notes ({@code SHT_NOTE} sections, or {@code PT_NOTE} segments without section headers). */
final class Notes {
    private Notes() {
    }

    /** The GNU build-id's bytes, or null; every note structure passed on the way is checked. */
    static byte[] findBuildId(ElfBytes b, List<Section> secs, List<ProgramHeader> phdrs) throws ElfFormatException {
        byte[] found = null;
        if (!secs.isEmpty()) {
            for (Section s : secs) {
                if (s.type() == SHT_NOTE && !s.isNoBits() && s.size() > 0) {
                    byte[] id = scan(b, s.offset(), s.size(), s.alignment() == 8 ? 8 : 4, "note section [" + s.index() + "] '" + s.name() + "'");
                    if (found == null) {
                        found = id;
                    }
                }
            }
            return found;
        }
        for (ProgramHeader p : phdrs) {
            if (p.type() == PT_NOTE && p.fileSize() > 0) {
                b.check(p.offset(), p.fileSize(), "PT_NOTE segment");
                byte[] id = scan(b, p.offset(), p.fileSize(), p.alignment() == 8 ? 8 : 4, "PT_NOTE segment");
                if (found == null) {
                    found = id;
                }
            }
        }
        return found;
    }

    private static long align(long v, int a) {
        return (v + a - 1) & -(long) a;
    }

    private static byte[] scan(ElfBytes b, long off, long size, int alignment, String what) throws ElfFormatException {
        long end = off + size;
        long p = off;
        byte[] buildId = null;
        for (int count = 0; p + 12 <= end && count < ElfFile.MAX_NOTES; count++) {
            long namesz = b.u32(p);
            long descsz = b.u32(p + 4);
            long type = b.u32(p + 8);
            long nameAt = p + 12;
            long descAt = align(nameAt + namesz, alignment);
            long next = align(descAt + descsz, alignment);
            if (descAt + descsz > end) {
                throw b.error(p, what + ": note (name size " + namesz + ", descriptor size " + descsz
                        + ") extends past the end of its section");
            }
            if (buildId == null && type == NT_GNU_BUILD_ID && namesz == 4 && b.u8(nameAt) == 'G' && b.u8(nameAt + 1) == 'N'
                    && b.u8(nameAt + 2) == 'U' && b.u8(nameAt + 3) == 0) {
                buildId = new byte[(int) descsz];
                MemorySegment.copy(b.segment(), ValueLayout.JAVA_BYTE, descAt, buildId, 0, buildId.length);
            }
            p = next;
        }
        return buildId;
    }
}
