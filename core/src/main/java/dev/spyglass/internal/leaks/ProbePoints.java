package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;

/**
 * Where to probe the small-object allocator of a CPython build, from the symbols of the object holding it.
 * {@code _PyObject_Malloc(void *ctx, size_t size)} / {@code _PyObject_Free(void *ctx, void *p)} (pymalloc
 * behind the allocator table, in {@code .symtab} when not stripped): most allocations of pyenv's 3.8-3.13 shared
 * builds call them directly, bypassing the exported {@code PyObject_Malloc} (3.12 measured: 34,184 vs 3,180
 * hits/s), so they are preferred; the size and pointer are their second argument ({@code rsi}), and
 * {@code _PyObject_Realloc(ctx, ptr, size)}'s and {@code _PyObject_Calloc(ctx, nelem, elsize)}'s in
 * {@code rsi, rdx}. Else the exported {@code PyObject_Malloc(size_t)}
 * / {@code PyObject_Free(void *)} / {@code PyObject_Realloc(void *, size_t)} of {@code .dynsym} (Debian's static
 * 3.11, stripped, inlines pymalloc into them): arguments from {@code rdi}.
 *
 * <p>For a live target ({@link #forTarget}) on a build without the {@code .symtab} functions (Debian's static LTO
 * builds: 3.11, trixie's 3.13, sid's 3.14 and 3.15), the functions its allocator table holds
 * ({@link AllocatorTable}) come before the exported ones when the table is hooked (tracemalloc running, or another
 * {@code PyMem_SetAllocator} hook): every allocation then calls through it. While it holds the default, the
 * build's inlined copies of pymalloc bypass both the table and the exported functions, and {@link #caveat} says so.
 *
 * @param sizeInSi whether the arguments start at {@code rsi} (a context first) rather than {@code rdi}
 * @param caveat   empty, or what the points are known to miss on this build, for reports
 * @param contexts the allocator contexts (first argument, {@code rdi}) of the domains probed, when the points are a
 *                 hooked table's functions, which may serve other domains too; empty: every call is wanted
 */
public record ProbePoints(String object, String allocSymbol, long allocOffset, String freeSymbol, long freeOffset,
        String reallocSymbol, long reallocOffset, String callocSymbol, long callocOffset, boolean sizeInSi,
        String caveat, long[] contexts) {
    private static final Logger LOG = LoggerFactory.getLogger(ProbePoints.class);

    /** The symbols looked for, in order of preference, as messages name them. */
    public static final String LOOKED_FOR = "_PyObject_Malloc, _PyObject_Free, _PyObject_Realloc and _PyObject_Calloc"
            + " (.symtab), then the functions of the hooked allocator table PyObject_Malloc reads, then PyObject_Malloc,"
            + " PyObject_Free, PyObject_Realloc and PyObject_Calloc (.dynsym)";

    /** The coarse level's symbols, in order of preference, as messages name them. */
    public static final String COARSE_LOOKED_FOR = "_PyMem_RawMalloc, _PyMem_RawFree, _PyMem_RawRealloc and"
            + " _PyMem_RawCalloc (.symtab), then the functions of the hooked allocator table PyMem_RawMalloc reads, then"
            + " PyMem_RawMalloc, PyMem_RawFree, PyMem_RawRealloc and PyMem_RawCalloc"
            + " (.dynsym)";

    /**
     * The exact level's points: the small-object allocator.
     *
     * @param object the object as the target maps it; {@code file} how this process opens it
     * @throws SpyglassException neither pair is defined there (the message names the symbols looked for)
     */
    public static ProbePoints choose(String object, Path file) throws SpyglassException {
        return choose(object, file, new String[] {"_PyObject_", "PyObject_"}, LOOKED_FOR);
    }

    /**
     * The coarse level's points: the raw allocator, {@code _PyMem_RawMalloc(ctx, size)} and its siblings behind
     * the raw allocator table (same arguments as the small-object ones). It sees what pymalloc does not serve: every
     * block over pymalloc's 512-byte limit (3.8-3.13: {@code _PyObject_Malloc} falls back to
     * {@code PyMem_RawMalloc}), a list's item array once over 512 bytes, and the interpreter's own raw buffers, but
     * no small object; a loop allocating only small objects makes no call here.
     */
    public static ProbePoints chooseCoarse(String object, Path file) throws SpyglassException {
        return choose(object, file, new String[] {"_PyMem_Raw", "PyMem_Raw"}, COARSE_LOOKED_FOR);
    }

    private static ProbePoints choose(String object, Path file, String[] prefixes, String lookedFor)
            throws SpyglassException {
        try (ElfFile elf = ElfFile.open(file)) {
            for (String prefix : prefixes) {
                Optional<Symbol> m = defined(elf.symbol(prefix + "Malloc"));
                Optional<Symbol> f = defined(elf.symbol(prefix + "Free"));
                Optional<Symbol> r = defined(elf.symbol(prefix + "Realloc"));
                Optional<Symbol> c = defined(elf.symbol(prefix + "Calloc"));
                if (m.isPresent() && f.isPresent() && r.isPresent() && c.isPresent()) {
                    return new ProbePoints(object, prefix + "Malloc", elf.vaddrToFileOffset(m.get().value()),
                            prefix + "Free", elf.vaddrToFileOffset(f.get().value()), prefix + "Realloc",
                            elf.vaddrToFileOffset(r.get().value()), prefix + "Calloc",
                            elf.vaddrToFileOffset(c.get().value()), prefix.startsWith("_"), "", new long[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + object + " to place allocation probes: " + e);
        }
        throw new SpyglassException("no allocation probe point in " + object + ": looked for " + lookedFor
                + ", none defined (a build with another allocator, or its symbols stripped)");
    }

    /**
     * The points for the live target's interpreter: the {@code .symtab} functions of {@link #choose} (or
     * {@link #chooseCoarse}); else those of the allocator table the exported functions read (obj domain, or raw for
     * the coarse level) when the table is hooked and all four lie in the interpreter's object; else the exported
     * functions, with a {@link #caveat} when the table shows that the build's inlined copies bypass them.
     *
     * @param file how this process opens the interpreter's object
     * @throws SpyglassException no route found (the message names the symbols looked for)
     */
    public static ProbePoints forTarget(Target target, Path file, boolean coarse) throws SpyglassException {
        String object = target.interpreter().objectPath();
        String exported = coarse ? "PyMem_Raw" : "PyObject_";
        String bypassed = "";
        try (ElfFile elf = ElfFile.open(file)) {
            Optional<Symbol> m = defined(elf.symbol("_" + exported + "Malloc"));
            Optional<Symbol> em = defined(elf.dynamicSymbol(exported + "Malloc"));
            Optional<Symbol> ef = defined(elf.dynamicSymbol(exported + "Free"));
            if (m.isEmpty() && em.isPresent() && ef.isPresent()) {
                long bias = target.interpreter().loadBias();
                // the code from the file: the tracker's own probes may be on these entries (int3) when it
                // re-chooses its points during the run
                Optional<AllocatorTable> t = AllocatorTable.find(target.memory(), bias + em.get().value(),
                        bias + ef.get().value(), file, elf.vaddrToFileOffset(em.get().value()),
                        elf.vaddrToFileOffset(ef.get().value()));
                if (t.isPresent() && !t.get().bypassed()) {
                    long[] contexts = {t.get().ctx()};
                    if (!coarse) { // the mem domain is pymalloc too (3.6+): its calls are wanted with obj's
                        Optional<Symbol> mm = defined(elf.dynamicSymbol("PyMem_Malloc"));
                        Optional<Symbol> mf = defined(elf.dynamicSymbol("PyMem_Free"));
                        Optional<AllocatorTable> mem = mm.isEmpty() || mf.isEmpty() ? Optional.empty()
                                : AllocatorTable.find(target.memory(), bias + mm.get().value(), bias + mf.get().value(),
                                        file, elf.vaddrToFileOffset(mm.get().value()),
                                        elf.vaddrToFileOffset(mf.get().value()));
                        // not found: every call is taken rather than the mem domain's lost
                        contexts = mem.isPresent() ? new long[] {t.get().ctx(), mem.get().ctx()} : new long[0];
                    }
                    Optional<ProbePoints> p = fromTable(target.pid(), object, t.get(), coarse ? "raw" : "obj",
                            contexts);
                    if (p.isPresent()) {
                        return p.get();
                    }
                } else if (t.isPresent()) {
                    bypassed = "the build's inlined copies of pymalloc bypass " + exported + "Malloc while its"
                            + " allocator table holds the default (0x" + Long.toHexString(t.get().malloc())
                            + "): most allocations are not seen; a target started with PYTHONTRACEMALLOC=1 (or -X"
                            + " tracemalloc) calls every allocation through the table, which is probed then, and so"
                            + " does one whose table is redirected for the run (leaks --redirect-allocator)";
                }
                LOG.debug("allocator table of {} behind {}Malloc: {}", object, exported, t);
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + object + " to place allocation probes: " + e);
        }
        ProbePoints p = coarse ? chooseCoarse(object, file) : choose(object, file);
        return bypassed.isEmpty() || p.sizeInSi() ? p : new ProbePoints(p.object, p.allocSymbol, p.allocOffset,
                p.freeSymbol, p.freeOffset, p.reallocSymbol, p.reallocOffset, p.callocSymbol, p.callocOffset, false,
                bypassed, p.contexts);
    }

    /**
     * The table's four functions as probe points, when all lie in executable mappings of the interpreter's object
     * (tracemalloc's hooks are built into it); a hook from another object is not followed.
     */
    private static Optional<ProbePoints> fromTable(long pid, String object, AllocatorTable t, String domain,
            long[] contexts) throws SpyglassException {
        ProcessMap map = ProcessMap.read(pid);
        long[] addresses = {t.malloc(), t.free(), t.realloc(), t.calloc()};
        long[] offsets = new long[4];
        for (int i = 0; i < 4; i++) {
            long a = addresses[i];
            Optional<ProcessMap.Mapping> m = map.find(a)
                    .filter(x -> x.executable() && x.isFile() && x.path().equals(object));
            if (m.isEmpty()) {
                LOG.debug("allocator table entry 0x{} of {} is outside {}: not probed", Long.toHexString(a), domain,
                        object);
                return Optional.empty();
            }
            offsets[i] = a - m.get().start() + m.get().fileOffset();
        }
        // Every table function takes the table's context first: sizes and pointers from rsi.
        return Optional.of(new ProbePoints(object, name(domain, "malloc", t.malloc()), offsets[0],
                name(domain, "free", t.free()), offsets[1], name(domain, "realloc", t.realloc()), offsets[2],
                name(domain, "calloc", t.calloc()), offsets[3], true, "", contexts));
    }

    private static String name(String domain, String function, long address) {
        return domain + "." + function + "@0x" + Long.toHexString(address);
    }

    /** Whether a call whose first argument is {@code ctx} is one of the domains probed. */
    public boolean accepts(long ctx) {
        if (contexts.length == 0) {
            return true;
        }
        for (long c : contexts) {
            if (c == ctx) {
                return true;
            }
        }
        return false;
    }

    /** Whether the points are the functions an allocator table held (names such as {@code obj.malloc@0x6003c0}). */
    public boolean fromAllocatorTable() {
        return allocSymbol.contains("@0x");
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
