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
 * hits/s), so they are preferred; the size and pointer are their second argument ({@code rsi}). Else the
 * exported {@code PyObject_Malloc(size_t)} / {@code PyObject_Free(void *)} of {@code .dynsym} (Debian's static
 * 3.11, stripped, inlines pymalloc into them): first argument ({@code rdi}).
 *
 * @param sizeInSi whether the size (entry) and the freed pointer are in {@code rsi} rather than {@code rdi}
 */
public record ProbePoints(String object, String allocSymbol, long allocOffset, String freeSymbol, long freeOffset,
        boolean sizeInSi) {

    /** The symbols looked for, in order of preference, as messages name them. */
    public static final String LOOKED_FOR = "_PyObject_Malloc and _PyObject_Free (.symtab), then PyObject_Malloc"
            + " and PyObject_Free (.dynsym)";

    /**
     * @param object the object as the target maps it; {@code file} how this process opens it
     * @throws SpyglassException neither pair is defined there (the message names the symbols looked for)
     */
    public static ProbePoints choose(String object, Path file) throws SpyglassException {
        try (ElfFile elf = ElfFile.open(file)) {
            Optional<Symbol> m = defined(elf.symbol("_PyObject_Malloc"));
            Optional<Symbol> f = defined(elf.symbol("_PyObject_Free"));
            if (m.isPresent() && f.isPresent()) {
                return new ProbePoints(object, "_PyObject_Malloc", elf.vaddrToFileOffset(m.get().value()),
                        "_PyObject_Free", elf.vaddrToFileOffset(f.get().value()), true);
            }
            m = defined(elf.symbol("PyObject_Malloc"));
            f = defined(elf.symbol("PyObject_Free"));
            if (m.isPresent() && f.isPresent()) {
                return new ProbePoints(object, "PyObject_Malloc", elf.vaddrToFileOffset(m.get().value()),
                        "PyObject_Free", elf.vaddrToFileOffset(f.get().value()), false);
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + object + " to place allocation probes: " + e);
        }
        throw new SpyglassException("no allocation probe point in " + object + ": looked for " + LOOKED_FOR
                + ", none defined (a build with another allocator, or its symbols stripped)");
    }

    private static Optional<Symbol> defined(Optional<Symbol> s) {
        return s.filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
    }
}
