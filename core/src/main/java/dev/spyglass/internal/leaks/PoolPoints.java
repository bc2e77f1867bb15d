package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import dev.spyglass.CPythonVersion;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;

/**
 * Where the pools level probes pymalloc's pool refills: {@code allocate_from_new_pool}, which {@code pymalloc_alloc}
 * calls when no pool of the request's size class has a free block, split out of it in 3.9 (3.8 and earlier have the
 * refill inlined in {@code pymalloc_alloc}). It takes a pool from its arena's free pools, or carves a new one (after
 * {@code new_arena()} when none is left), and returns the pool's first block: the pool is that block's address
 * rounded down to the pool size (4 KiB up to 3.9; 16 KiB from 3.10 on 64-bit builds, where the radix tree makes
 * {@code USE_LARGE_POOLS}). A static function named in {@code .symtab} only: pyenv's builds have it, Debian's stripped
 * ones do not (and a free-threaded build serves small objects from mimalloc).
 *
 * <p>A pool goes back with no function of its own: {@code pymalloc_free} links it into its arena's free pools when
 * its last block is freed ({@code insert_to_freepool}, inlined), with {@code ref.count}, the pool header's first
 * word, at 0. So releases are found by reading the headers of the pools recorded ({@link PoolSweep}).
 *
 * @param symbol   the function's name
 * @param offset   its file offset in the interpreter's object
 * @param poolSize the pool size of this version, checked against each header read
 */
public record PoolPoints(String symbol, long offset, long poolSize) {
    static final String SYMBOL = "allocate_from_new_pool";

    /** The outcome of {@link #find}: the point, or why there is none (for the report's probes line). */
    public record Found(Optional<PoolPoints> points, String reason) {
    }

    /** The pool refill function of the interpreter's object {@code file}, for a target of {@code version}. */
    public static Found find(Path file, CPythonVersion version) {
        String not = "pymalloc pools not probed: ";
        if (version.freeThreaded()) {
            return new Found(Optional.empty(), not + "a free-threaded build serves small objects from mimalloc");
        }
        if (version.major() < 3 || version.major() == 3 && version.minor() < 9) {
            return new Found(Optional.empty(), not + "before 3.9 the pool refill is inlined in pymalloc_alloc");
        }
        try (ElfFile elf = ElfFile.open(file)) {
            Optional<Symbol> s = elf.symbol(SYMBOL).filter(x -> x.isDefined() && x.isFunction() && x.value() != 0);
            if (s.isPresent()) {
                long poolSize = version.minor() >= 10 ? 16 * 1024 : 4 * 1024;
                return new Found(Optional.of(new PoolPoints(SYMBOL, elf.vaddrToFileOffset(s.get().value()), poolSize)),
                        "");
            }
        } catch (IOException | RuntimeException e) {
            return new Found(Optional.empty(), not + "cannot read the symbols: " + e);
        }
        return new Found(Optional.empty(), not + SYMBOL + " (.symtab) not found (symbols stripped)");
    }
}
