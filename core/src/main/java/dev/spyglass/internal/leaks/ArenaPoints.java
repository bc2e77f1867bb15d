package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.CPythonVersion;
import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;

/**
 * Where the coarse level probes pymalloc's arena refills: the arena allocator's two functions, which pymalloc
 * calls through its arena table ({@code _PyObject_Arena}, 3.12+ {@code _PyRuntime.allocators.obj_arena}) when it
 * needs a new arena (256 KiB before 3.10, 1 MiB from 3.10 on, which defines {@code USE_LARGE_ARENAS} on 64-bit
 * builds) and when an arena became wholly empty. Both take the table's context first, so the size of an allocation
 * and the pointer of a release are in {@code rsi}. Static functions, named in {@code .symtab} only (pyenv's builds):
 * {@code _PyObject_ArenaMmap} / {@code _PyObject_ArenaMunmap} up to 3.11 (Linux, where arenas are mmap'ed),
 * renamed {@code _PyMem_ArenaAlloc} / {@code _PyMem_ArenaFree} in 3.12. Being called through a pointer, they are
 * never inlined into pymalloc, so every arena goes through them. On a build without those symbols (Debian's
 * stripped static builds) the same two functions are found through the arena table itself ({@link ArenaTable}:
 * the code of the exported {@code PyObject_GetArenaAllocator} shows where the table is, the live target's table
 * holds their addresses); they are then named by address ({@code arena.alloc@0x4f1e50}) and {@code route} says so.
 *
 * @param allocSymbol the arena allocation function's name
 * @param allocOffset its file offset in the interpreter's object
 * @param freeSymbol  the arena release function's name
 * @param freeOffset  its file offset
 * @param route       how they were found, for the report's probes line: empty for the symbols
 */
public record ArenaPoints(String allocSymbol, long allocOffset, String freeSymbol, long freeOffset, String route) {
    private static final Logger LOG = LoggerFactory.getLogger(ArenaPoints.class);

    /** The route through the table, as the probes line names it. */
    public static final String TABLE_ROUTE = "through the arena table PyObject_GetArenaAllocator reads";

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
                            pair[1], elf.vaddrToFileOffset(f.get().value()), "")), "");
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Found(Optional.empty(), "pymalloc arenas not probed: cannot read the symbols: " + e);
        }
        return new Found(Optional.empty(), "pymalloc arenas not probed: " + LOOKED_FOR + " not found (symbols"
                + " stripped): a leak of small objects does not show");
    }

    /**
     * As {@link #find(Path, CPythonVersion)}, and when the symbols are missing, the functions the live target's
     * arena table holds ({@link ArenaTable}), provided both lie in the interpreter's object (an allocator set with
     * {@code PyObject_SetArenaAllocator} from another object is not followed).
     *
     * @param file how this process opens the interpreter's object
     */
    public static Found find(Target target, Path file) {
        Found bySymbols = find(file, target.version());
        if (bySymbols.points().isPresent() || target.version().freeThreaded()) {
            return bySymbols;
        }
        return throughTable(target, file, "pymalloc arenas not probed: " + LOOKED_FOR
                + " not found (symbols stripped), and ");
    }

    /**
     * The arena functions the live target's arena table holds, whatever the symbols say ({@code stripped} starts
     * the reason when they are not found).
     */
    public static Found throughTable(Target target, Path file, String stripped) {
        String object = target.interpreter().objectPath();
        String unseen = ": a leak of small objects does not show";
        try (ElfFile elf = ElfFile.open(file)) {
            Optional<Symbol> getter = defined(elf.dynamicSymbol("PyObject_GetArenaAllocator"));
            if (getter.isEmpty()) {
                return new Found(Optional.empty(), stripped + "no PyObject_GetArenaAllocator in .dynsym" + unseen);
            }
            long entry = target.interpreter().loadBias() + getter.get().value();
            Optional<ArenaTable.Contents> t = ArenaTable.read(target.memory(), entry);
            LOG.debug("arena table behind PyObject_GetArenaAllocator at 0x{} of {}: {}", Long.toHexString(entry),
                    object, t);
            if (t.isEmpty()) {
                // e.g. a 3.12+ stripped build's getter, which takes the runtime's lock first, in a shape not decoded
                return new Found(Optional.empty(), stripped + "the code of PyObject_GetArenaAllocator does not show"
                        + " where its table is" + unseen);
            }
            ProcessMap map = ProcessMap.read(target.pid());
            long[] offsets = new long[2];
            long[] addresses = {t.get().alloc(), t.get().free()};
            for (int i = 0; i < 2; i++) {
                long a = addresses[i];
                Optional<ProcessMap.Mapping> m = map.find(a)
                        .filter(x -> x.executable() && x.isFile() && x.path().equals(object));
                if (m.isEmpty()) {
                    return new Found(Optional.empty(), stripped + "the arena table's " + (i == 0 ? "alloc" : "free")
                            + " (0x" + Long.toHexString(a) + ") lies outside " + object + " (replaced with"
                            + " PyObject_SetArenaAllocator?)" + unseen);
                }
                offsets[i] = a - m.get().start() + m.get().fileOffset();
            }
            return new Found(Optional.of(new ArenaPoints("arena.alloc@0x" + Long.toHexString(addresses[0]),
                    offsets[0], "arena.free@0x" + Long.toHexString(addresses[1]), offsets[1], TABLE_ROUTE)), "");
        } catch (IOException | SpyglassException | RuntimeException e) {
            return new Found(Optional.empty(), stripped + "the arena table cannot be read: " + e + unseen);
        }
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
