package dev.spyglass.elf;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Function and object symbols sorted by start address, for {@link ElfFile#symbolAt(long)}. */
final class AddressIndex {
    private final Symbol[] symbols;
    private final long[] starts;
    /** maxEnd[i]: the highest end (unsigned) of symbols[0..i], to stop the backward scan early. */
    private final long[] maxEnd;

    private AddressIndex(Symbol[] symbols) {
        this.symbols = symbols;
        int n = symbols.length;
        starts = new long[n];
        maxEnd = new long[n];
        long m = 0;
        for (int i = 0; i < n; i++) {
            starts[i] = symbols[i].value();
            long end = symbols[i].value() + symbols[i].size();
            if (Long.compareUnsigned(end, symbols[i].value()) < 0) {
                end = -1L; // wrapped: treat as reaching the top of the address space
            }
            if (Long.compareUnsigned(end, m) > 0) {
                m = end;
            }
            maxEnd[i] = m;
        }
    }

    static AddressIndex build(List<Symbol> all) {
        List<Symbol> keep = new ArrayList<>();
        for (Symbol s : all) {
            if (s.isDefined() && s.size() > 0 && (s.isFunction() || s.isObject())) {
                keep.add(s);
            }
        }
        keep.sort(Comparator.comparing(Symbol::value, Long::compareUnsigned));
        return new AddressIndex(keep.toArray(new Symbol[0]));
    }

    Symbol find(long vaddr) {
        int lo = 0;
        int hi = starts.length - 1;
        int last = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], vaddr) <= 0) {
                last = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        Symbol best = null;
        for (int i = last; i >= 0 && Long.compareUnsigned(maxEnd[i], vaddr) > 0; i--) {
            Symbol s = symbols[i];
            if (s.contains(vaddr) && (best == null || better(s, best))) {
                best = s;
            }
        }
        return best;
    }

    private static boolean better(Symbol a, Symbol b) {
        boolean ga = a.binding() != ElfConstants.STB_LOCAL;
        boolean gb = b.binding() != ElfConstants.STB_LOCAL;
        if (ga != gb) {
            return ga;
        }
        int c = Long.compareUnsigned(a.value(), b.value());
        if (c != 0) {
            return c > 0;
        }
        return Long.compareUnsigned(a.size(), b.size()) < 0;
    }
}
