package dev.spyglass.elf;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Calls every accessor of an ElfFile, as a user would, to shake out exceptions from inside. */
final class ElfExerciser {
    private ElfExerciser() {
    }

    /**
     * Builds the call-frame table, read lazily: its only allowed failure is an {@link ElfFormatException}
     * naming the file; then looks up every row's start.
     */
    static long exerciseUnwindTable(ElfFile elf) {
        UnwindTable t;
        try {
            t = UnwindTable.of(elf);
        } catch (ElfFormatException e) {
            if (!e.getMessage().startsWith(elf.name() + ": ")) {
                throw new AssertionError("error message does not name the file: " + e.getMessage(), e);
            }
            return 1;
        }
        long h = t.size() + t.fdeCount();
        for (int i = 0; i < t.size(); i++) {
            int at = t.find(t.start(i));
            h += at + t.cfa(i).ordinal() + t.cfaOffset(i) + t.pltThreshold(i) + t.returnAddress(i).ordinal()
                    + t.returnAddressOffset(i) + t.rbp(i).ordinal() + t.rbpOffset(i);
        }
        return h + t.find(0) + t.find(-1) + t.find(Long.MAX_VALUE);
    }

    /** Returns a number derived from everything read, so nothing is optimised away. */
    static long exerciseAll(ElfFile elf) {
        long h = elf.type() + elf.machine() + elf.entry() + elf.osAbi();
        h += elf.isExecutable() ? 1 : 0;
        h += elf.isSharedObject() ? 1 : 0;
        h += elf.programHeaders().size() + elf.loadSegments().size();
        h += elf.interpreter().map(String::length).orElse(0);
        for (Section s : elf.sections()) {
            h += elf.sectionData(s).byteSize();
            h += elf.section(s.name()).isPresent() ? 1 : 0;
            h += elf.find(s, new byte[] {0x33, 0x2e}, 0, 4096).orElse(-1);
            h += elf.findVersionString(s, "3.", 4).map(String::length).orElse(0);
        }
        for (String name : new String[] {"_PyRuntime", "Py_Version", "_PyThreadState_Current", "interp_head", "main", "", "x"}) {
            h += elf.symbol(name).map(Symbol::value).orElse(0L);
            h += elf.dynamicSymbol(name).map(Symbol::value).orElse(0L);
        }
        int n = 0;
        for (Symbol s : elf.symbols()) {
            if (n++ < 64) {
                h += elf.symbol(s.name()).map(Symbol::size).orElse(0L);
                h += elf.symbolAt(s.value()).map(Symbol::value).orElse(0L);
            }
            h += s.name().getBytes(StandardCharsets.UTF_8).length;
        }
        h += elf.symbolAt(0).isPresent() ? 1 : 0;
        h += elf.symbolAt(-1).isPresent() ? 1 : 0;
        h += elf.soname().map(String::length).orElse(0);
        h += elf.needed().size();
        h += elf.buildId().map(b -> b.length).orElse(0);
        h += elf.buildIdHex().map(String::length).orElse(0);
        h += elf.debugLink().map(DebugLink::crc32).orElse(0);
        // A path that does not exist: exercises the rules without touching the machine's debug files.
        h += elf.findDebugFile(Path.of("/nonexistent/spyglass/fuzz.so"), Path.of("/nonexistent/spyglass/debug")).isPresent() ? 1 : 0;
        for (ProgramHeader p : elf.programHeaders()) {
            h += elf.vaddrToFileOffset(p.vaddr());
            h += elf.fileOffsetToVaddr(p.offset());
        }
        if (!elf.loadSegments().isEmpty()) {
            ProgramHeader first = elf.loadSegments().getFirst();
            h += elf.loadBias(0x7f0000000000L, first.offset() & -4096L);
        }
        if (elf.machine() == ElfConstants.EM_X86_64) {
            h += exerciseUnwindTable(elf);
        }
        h += elf.bytes().byteSize();
        return h;
    }
}
