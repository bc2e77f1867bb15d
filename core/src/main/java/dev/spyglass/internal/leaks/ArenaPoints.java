package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import dev.spyglass.CPythonVersion;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;

/**
 * Where the coarse level probes pymalloc's arena refills: the arena allocator's two functions, which pymalloc
 * calls through its arena table ({@code _PyObject_Arena}, 3.12+ {@code _PyRuntime.allocators.obj_arena}) when it
 * needs a new arena (256 KiB before 3.10, 1 MiB from 3.10 on, which defines {@code USE_LARGE_ARENAS} on 64-bit
 * builds) and when an arena became wholly empty. Both take the table's context first, so the size of an allocation
 * and the pointer of a release are in {@code rsi}. Static functions, named in {@code .symtab} only (pyenv's builds):
 * {@code _PyObject_ArenaMmap} / {@code _PyObject_ArenaMunmap} up to 3.11 (Linux, where arenas are mmap'ed),
 * renamed {@code _PyMem_ArenaAlloc} / {@code _PyMem_ArenaFree} in 3.12. Being called through a pointer, they are
 * never inlined into pymalloc, so every arena goes through them.
 *
 * @param allocSymbol the arena allocation function's name
 * @param allocOffset its file offset in the interpreter's object
 * @param freeSymbol  the arena release function's name
 * @param freeOffset  its file offset
 */
public record ArenaPoints(String allocSymbol, long allocOffset, String freeSymbol, long freeOffset) {

    /** The pairs looked for, newest name last. */
    private static final String[][] NAMES = {
        {"_PyObject_ArenaMmap", "_PyObject_ArenaMunmap"}, // 3.4 - 3.11
        {"_PyMem_ArenaAlloc", "_PyMem_ArenaFree"}, // 3.12+
    };

    /** As reports name what was looked for. */
    public static final String LOOKED_FOR = "_PyObject_ArenaMmap / _PyObject_ArenaMunmap or _PyMem_ArenaAlloc /"
            + " _PyMem_ArenaFree (.symtab)";

    /** The outcome of {@link #find}: the points, or why there are none (for the report's probes line). */
    public record Found(Optional<ArenaPoints> points, String reason) {
    }

    /**
     * The arena functions of the interpreter's object {@code file}, for a target of {@code version}.
     * A free-threaded build (3.13t+) serves small objects from mimalloc's own pages, not pymalloc's arenas, so it
     * gets none; neither does a build whose {@code .symtab} was stripped (Debian's static builds).
     */
    public static Found find(Path file, CPythonVersion version) {
        if (version.freeThreaded()) {
            return new Found(Optional.empty(), "pymalloc arenas not probed: a free-threaded build serves small"
                    + " objects from mimalloc");
        }
        try (ElfFile elf = ElfFile.open(file)) {
            for (String[] pair : NAMES) {
                Optional<Symbol> a = defined(elf.symbol(pair[0]));
                Optional<Symbol> f = defined(elf.symbol(pair[1]));
                if (a.isPresent() && f.isPresent()) {
                    return new Found(Optional.of(new ArenaPoints(pair[0], elf.vaddrToFileOffset(a.get().value()),
                            pair[1], elf.vaddrToFileOffset(f.get().value()))), "");
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Found(Optional.empty(), "pymalloc arenas not probed: cannot read the symbols: " + e);
        }
        return new Found(Optional.empty(), "pymalloc arenas not probed: " + LOOKED_FOR + " not found (symbols"
                + " stripped): a leak of small objects does not show");
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
