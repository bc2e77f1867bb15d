package dev.spyglass.internal.leaks;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.python.Target;

/**
 * The one change a tracker may make to a target, on request ({@code leaks --redirect-allocator}): on a stripped LTO
 * build whose allocator tables hold their defaults (Debian's 3.11, 3.13 - 3.15; see {@link AllocatorTable}), every
 * slot ({@code malloc, calloc, realloc, free}) of the domains asked for is pointed 4 bytes further, past its
 * function's {@code endbr64}. The callers' inlined copies of pymalloc run only when the slot equals the default's
 * address, so from then on every allocation calls through the table, into the same function one instruction in,
 * where {@link ProbePoints} then places its probes. Only the lowest byte of each slot changes (a function starts
 * 16-byte aligned, so adding 4 carries into no other byte): a thread reading the slot meanwhile sees the old
 * value or the new one, never a mix. {@link #close} writes the old byte back where the slot still holds the new
 * value (a hook installed meanwhile, tracemalloc's, saved the redirected table and is left to call it). A JVM that
 * dies leaves the slots redirected: the target keeps running the same allocator, called indirectly.
 */
public final class TableRedirect implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TableRedirect.class);
    /** {@code endbr64}: f3 0f 1e fa, read as a little-endian int. */
    static final int ENDBR64 = 0xfa1e0ff3;
    /** Offsets of {@code malloc, calloc, realloc, free} in {@code PyMemAllocatorEx} (after {@code ctx}). */
    private static final int[] SLOTS = {8, 16, 24, 32};

    private final long pid;
    private final List<long[]> written; // slot address, old value
    private final String tables;

    private TableRedirect(long pid, List<long[]> written, String tables) {
        this.pid = pid;
        this.written = written;
        this.tables = tables;
    }

    /**
     * Redirects the tables behind {@code exported[i]Malloc} / {@code exported[i]Free} ({@code "PyObject_"},
     * {@code "PyMem_"}, {@code "PyMem_Raw"}) whose {@code malloc} holds the default their callers compare with.
     *
     * @param file how this process opens the interpreter's object
     * @return empty when no table is bypassed (a build with symbols, or a table already hooked); a redirect with
     *         nothing written is never returned
     * @throws SpyglassException a bypassed table that cannot be redirected (its functions do not start with
     *                           {@code endbr64}, a carry, or the target refuses the write): the message says which
     */
    public static Optional<TableRedirect> apply(Target target, Path file, String... exported)
            throws SpyglassException {
        List<AllocatorTable> bypassed = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (ElfFile elf = ElfFile.open(file)) {
            if (elf.symbol("_PyObject_Malloc").filter(Symbol::isDefined).isPresent()) {
                return Optional.empty(); // probed by name: nothing inlined bypasses it
            }
            long bias = target.interpreter().loadBias();
            for (String e : exported) {
                Optional<Symbol> m = elf.dynamicSymbol(e + "Malloc").filter(Symbol::isDefined);
                Optional<Symbol> f = elf.dynamicSymbol(e + "Free").filter(Symbol::isDefined);
                if (m.isEmpty() || f.isEmpty()) {
                    continue;
                }
                Optional<AllocatorTable> t = AllocatorTable.find(target.memory(), bias + m.get().value(),
                        bias + f.get().value());
                if (t.isPresent() && t.get().bypassed()) {
                    bypassed.add(t.get());
                    names.add(e + " (0x" + Long.toHexString(t.get().address()) + ")");
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SpyglassException("cannot read the symbols of " + file + " to redirect its allocator tables: " + e);
        }
        if (bypassed.isEmpty()) {
            return Optional.empty();
        }
        List<long[]> plan = new ArrayList<>();
        for (AllocatorTable t : bypassed) {
            long[] values = {t.malloc(), t.calloc(), t.realloc(), t.free()};
            for (int i = 0; i < SLOTS.length; i++) {
                long v = values[i];
                if ((v & 0xFF) > 0xFB) {
                    throw new SpyglassException("cannot redirect the allocator table at 0x"
                            + Long.toHexString(t.address()) + ": its function 0x" + Long.toHexString(v)
                            + " would carry into a second byte");
                }
                int first;
                try {
                    first = target.memory().readInt(v);
                } catch (MemoryFault e) {
                    throw new SpyglassException("cannot read the allocator function 0x" + Long.toHexString(v)
                            + " of pid " + target.pid() + ": " + e.getMessage());
                }
                if (first != ENDBR64) {
                    throw new SpyglassException("cannot redirect the allocator table at 0x"
                            + Long.toHexString(t.address()) + ": its function 0x" + Long.toHexString(v)
                            + " does not start with endbr64 (" + Integer.toHexString(first) + "): a build without"
                            + " -fcf-protection has no second address that runs the same function; start the target"
                            + " with PYTHONTRACEMALLOC=1 instead");
                }
                plan.add(new long[] {t.address() + SLOTS[i], v});
            }
        }
        List<long[]> written = new ArrayList<>();
        TableRedirect r = new TableRedirect(target.pid(), written, String.join(", ", names));
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + target.pid() + "/mem", "rw")) {
            for (long[] slot : plan) {
                writeLowByte(mem, slot[0], slot[1] + 4);
                written.add(slot);
            }
        } catch (IOException e) {
            r.close();
            throw new SpyglassException("cannot redirect the allocator tables of pid " + target.pid()
                    + " (writing /proc/" + target.pid() + "/mem needs root or the right to ptrace it): " + e);
        }
        LOG.info("allocator tables {} of pid {} redirected past endbr64 for the run", r.tables, target.pid());
        return Optional.of(r);
    }

    private static void writeLowByte(RandomAccessFile mem, long slot, long value) throws IOException {
        mem.seek(slot);
        mem.write((int) (value & 0xFF));
    }

    /** The tables redirected, for the probes line: {@code PyObject_ (0x959f40), PyMem_ (0x959f90)}. */
    public String tables() {
        return tables;
    }

    /** Writes the old byte back into every slot that still holds the redirected value. */
    @Override
    public void close() {
        if (written.isEmpty()) {
            return;
        }
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "rw")) {
            for (long[] slot : written) {
                mem.seek(slot[0]);
                long now = Long.reverseBytes(mem.readLong());
                if (now == slot[1] + 4) {
                    writeLowByte(mem, slot[0], slot[1]);
                } else {
                    LOG.info("allocator slot 0x{} of pid {} changed since it was redirected (0x{}): left as it is",
                            Long.toHexString(slot[0]), pid, Long.toHexString(now));
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot restore the allocator tables of pid {} (gone?): {}", pid, e.toString());
        }
        written.clear();
    }
}
