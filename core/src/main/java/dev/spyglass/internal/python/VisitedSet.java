package dev.spyglass.internal.python;

import java.util.Arrays;

/** A set of frame addresses for cycle detection, cleared per walk without allocation. */
final class VisitedSet {
    private long[] slots = new long[1024];
    private int size;

    void clear() {
        if (size > 0) {
            Arrays.fill(slots, 0);
            size = 0;
        }
    }

    /** Adds {@code v} (not 0); false when it was already there. */
    boolean add(long v) {
        if ((size + 1) * 2 > slots.length) {
            long[] old = slots;
            slots = new long[old.length * 2];
            size = 0;
            for (long o : old) {
                if (o != 0) {
                    add(o);
                }
            }
        }
        int mask = slots.length - 1;
        int i = slot(v, mask);
        while (slots[i] != 0) {
            if (slots[i] == v) {
                return false;
            }
            i = (i + 1) & mask;
        }
        slots[i] = v;
        size++;
        return true;
    }

    /** The first slot for address {@code v} in a table of {@code mask + 1} slots (Fibonacci hashing). */
    static int slot(long v, int mask) {
        long h = v * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
