package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;

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
 * @param sizeInSi whether the arguments start at {@code rsi} (a context first) rather than {@code rdi}
 */
public record ProbePoints(String object, String allocSymbol, long allocOffset, String freeSymbol, long freeOffset,
        String reallocSymbol, long reallocOffset, String callocSymbol, long callocOffset, boolean sizeInSi) {

    /** The symbols looked for, in order of preference, as messages name them. */
    public static final String LOOKED_FOR = "_PyObject_Malloc, _PyObject_Free, _PyObject_Realloc and _PyObject_Calloc"
            + " (.symtab), then PyObject_Malloc, PyObject_Free, PyObject_Realloc and PyObject_Calloc (.dynsym)";

    /** The coarse level's symbols, in order of preference, as messages name them. */
    public static final String COARSE_LOOKED_FOR = "_PyMem_RawMalloc, _PyMem_RawFree, _PyMem_RawRealloc and"
            + " _PyMem_RawCalloc (.symtab), then PyMem_RawMalloc, PyMem_RawFree, PyMem_RawRealloc and PyMem_RawCalloc"
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
                            elf.vaddrToFileOffset(c.get().value()), prefix.startsWith("_"));
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + object + " to place allocation probes: " + e);
        }
        throw new SpyglassException("no allocation probe point in " + object + ": looked for " + lookedFor
                + ", none defined (a build with another allocator, or its symbols stripped)");
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
