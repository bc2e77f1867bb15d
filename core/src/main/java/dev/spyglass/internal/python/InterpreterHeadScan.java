package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Section;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Finds the interpreter list of a stripped interpreter (no {@code _PyRuntime}, no {@code interp_head}
 * symbol, and before 3.10 no {@code .PyRuntime} section): a word of the object's writable data that
 * points to an interpreter whose threads point back to it.
 */
final class InterpreterHeadScan {
    private InterpreterHeadScan() {
    }

    /**
     * {@code true} when {@code p} looks like a {@code PyInterpreterState}: its {@code next} is null or
     * mapped, and it has threads, each pointing back to it, in a list that ends.
     */
    private static boolean plausibleInterpreter(long p, ProcessMap map, RemoteMemory memory, Layout layout,
            MemorySegment word) throws MemoryFault, SpyglassException {
        memory.read(p + layout.require(Field.INTERP_NEXT), word);
        long next = word.get(ValueLayout.JAVA_LONG, 0);
        if (next != 0 && ((next & 7) != 0 || !map.isReadable(next, 8))) {
            return false;
        }
        memory.read(p + layout.require(Field.INTERP_TSTATE_HEAD), word);
        long t = word.get(ValueLayout.JAVA_LONG, 0);
        int threads = 0;
        while (t != 0) {
            if (threads++ > 1024 || (t & 7) != 0 || !map.isReadable(t, 8)) {
                return false;
            }
            memory.read(t + layout.require(Field.TSTATE_INTERP), word);
            if (word.get(ValueLayout.JAVA_LONG, 0) != p) {
                return false;
            }
            memory.read(t + layout.require(Field.TSTATE_THREAD_ID), word);
            if (word.get(ValueLayout.JAVA_LONG, 0) == 0) {
                return false;
            }
            memory.read(t + layout.require(Field.TSTATE_NEXT), word);
            t = word.get(ValueLayout.JAVA_LONG, 0);
        }
        return threads > 0;
    }

    /**
     * Scans the object's {@code .data}/{@code .bss} (where {@code interp_head} or {@code _PyRuntime}
     * live) for a word holding a pointer {@code p} to an interpreter whose first thread state points
     * back to it ({@code p->tstate_head->interp == p}). Returns the word's address, or 0.
     */
    static long scan(ElfFile elf, long bias, ProcessMap map, RemoteMemory memory, Layout layout)
            throws SpyglassException {
        long tstateHeadOff = layout.require(Field.INTERP_TSTATE_HEAD);
        long interpOff = layout.require(Field.TSTATE_INTERP);
        List<Section> sections = new ArrayList<>();
        for (String name : List.of(".data", ".bss", ".PyRuntime")) {
            elf.section(name).ifPresent(sections::add);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(8, 8);
            for (Section s : sections) {
                long start = bias + s.address();
                long size = Math.min(s.size(), 16L << 20);
                MemorySegment data = arena.allocate(size, 8);
                long got = memory.readPartial(start, data);
                for (long off = 0; off + 8 <= got; off += 8) {
                    long p = data.get(ValueLayout.JAVA_LONG, off);
                    if (p == 0 || (p & 7) != 0 || !map.isReadable(p, 8)) {
                        continue;
                    }
                    Optional<ProcessMap.Mapping> m = map.find(p);
                    if (m.isEmpty() || !m.get().writable()) {
                        continue;
                    }
                    try {
                        if (plausibleInterpreter(p, map, memory, layout, word)) {
                            return start + off;
                        }
                    } catch (MemoryFault f) {
                        // not an interpreter
                    }
                }
            }
        }
        return 0;
    }
}
