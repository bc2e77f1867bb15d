package dev.spyglass.internal.nativeframes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Symbol;
import dev.spyglass.elf.UnwindTable;

/**
 * Where the evaluation loop's code is, in a stripped interpreter. GCC splits a function this large into
 * parts: Debian's python3.14 (stripped, static) names {@code _PyEval_EvalFrameDefault} for a 1,184-byte
 * entry part only, which jumps into an unnamed 84 KB part (its own FDE) where the loop runs; a native
 * stack taken inside the loop shows that unnamed address, not the symbol. An unstripped build names the
 * parts ({@code _PyEval_EvalFrameDefault.cold}) and needs none of this.
 *
 * <p>Found without a disassembler: the named part's bytes are scanned for {@code jmp rel32}
 * ({@code E9}) and {@code jcc rel32} ({@code 0F 8x}) targets outside it; a target that no symbol names
 * and that an FDE covers makes that FDE's extent (rows between gaps of the call-frame table) part of the
 * loop. A misread byte can only add an unnamed part by mistake, which then shows as a count that does
 * not agree (a torn sample), never as a wrong merge.
 */
final class EvalLoopExtents {
    private static final Logger LOG = LoggerFactory.getLogger(EvalLoopExtents.class);
    private static final ValueLayout.OfInt S32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The named part is scanned up to this size (3.6 – 3.15 entry parts are a few KB; a whole loop ~100 KB). */
    private static final long MAX_SCAN = 512 * 1024;

    private final long[] starts;
    private final long[] ends;

    private EvalLoopExtents(long[] starts, long[] ends) {
        this.starts = starts;
        this.ends = ends;
    }

    static final EvalLoopExtents NONE = new EvalLoopExtents(new long[0], new long[0]);

    /** The unnamed parts of {@code evalFunction} in {@code code} (link-time addresses); {@link #NONE} when none. */
    static EvalLoopExtents find(ElfFile code, ElfFile symbols, UnwindTable table, String evalFunction) {
        try {
            Optional<Symbol> s = symbols.symbol(evalFunction);
            if (s.isEmpty() || s.get().size() <= 0 || s.get().value() == 0) {
                return NONE;
            }
            long lo = s.get().value();
            long size = Math.min(s.get().size(), MAX_SCAN);
            long off = code.vaddrToFileOffset(lo);
            MemorySegment file = code.bytes();
            if (off < 0 || off + size > file.byteSize()) {
                return NONE;
            }
            List<long[]> parts = new ArrayList<>();
            for (long i = 0; i + 5 <= size; i++) {
                int b = file.get(ValueLayout.JAVA_BYTE, off + i) & 0xff;
                long target;
                if (b == 0xE9) {
                    target = lo + i + 5 + file.get(S32, off + i + 1);
                } else if (b == 0x0F && i + 6 <= size && (file.get(ValueLayout.JAVA_BYTE, off + i + 1) & 0xf0) == 0x80) {
                    target = lo + i + 6 + file.get(S32, off + i + 2);
                } else {
                    continue;
                }
                if ((target >= lo && target < lo + s.get().size()) || covered(parts, target)
                        || symbols.symbolAt(target).isPresent()) {
                    continue;
                }
                long[] extent = extent(table, target);
                if (extent != null) {
                    parts.add(extent);
                }
            }
            if (parts.isEmpty()) {
                return NONE;
            }
            LOG.debug("{} in {}: {} unnamed part(s) found through its jumps", evalFunction, code.name(), parts.size());
            long[] starts = new long[parts.size()];
            long[] ends = new long[parts.size()];
            for (int i = 0; i < parts.size(); i++) {
                starts[i] = parts.get(i)[0];
                ends[i] = parts.get(i)[1];
            }
            return new EvalLoopExtents(starts, ends);
        } catch (RuntimeException e) {
            LOG.debug("cannot look for the parts of {} in {}: {}", evalFunction, code.name(), e.toString());
            return NONE;
        }
    }

    private static boolean covered(List<long[]> parts, long address) {
        for (long[] p : parts) {
            if (address >= p[0] && address < p[1]) {
                return true;
            }
        }
        return false;
    }

    /** The run of rows with call-frame information around {@code address}; null when none covers it. */
    private static long[] extent(UnwindTable table, long address) {
        int row = table.find(address);
        if (row < 0 || table.cfa(row) == UnwindTable.Cfa.NO_INFO) {
            return null;
        }
        int first = row;
        while (first > 0 && table.cfa(first - 1) != UnwindTable.Cfa.NO_INFO) {
            first--;
        }
        int last = row;
        while (last + 1 < table.size() && table.cfa(last + 1) != UnwindTable.Cfa.NO_INFO) {
            last++;
        }
        long end = last + 1 < table.size() ? table.start(last + 1) : address + 1;
        return new long[] {table.start(first), end};
    }

    /** Whether link-time address {@code vaddr} is in one of the parts. */
    boolean contains(long vaddr) {
        for (int i = 0; i < starts.length; i++) {
            if (vaddr >= starts[i] && vaddr < ends[i]) {
                return true;
            }
        }
        return false;
    }
}
