package dev.spyglass.internal.leaks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The anonymous mappings the coarse level counts ({@link MmapPoints}), as address ranges, and what the C library's
 * {@code munmap} and {@code mremap} do to them, applied to the {@link LiveAllocations} table: a mapping unmapped
 * whole is released; one unmapped in part keeps its other parts under its stack ({@link LiveAllocations#cut}: a
 * {@code munmap} of its tail, its head or a hole in it); an {@code mremap} is the release of the part it moved or
 * resized and the allocation of the new mapping under the caller's stack, as a {@code realloc} is. Unmappings and
 * remappings that touch no counted mapping (the C library's own, an arena's) are ignored. Used from one thread.
 */
public final class Mappings {
    /** Linux's page: {@code munmap} and {@code mremap} act on whole pages. */
    static final long PAGE = 4096;
    /** {@code MREMAP_DONTUNMAP} (Linux 5.7): the old range stays mapped. */
    static final long MREMAP_DONTUNMAP = 4;

    /** Receives each change made to the table, as allocations and releases, in order. */
    @FunctionalInterface
    public interface Sink {
        /** {@code size} of a release is the mapping's length as counted. */
        void event(boolean allocation, long address, long size, int stack);
    }

    /** A counted mapping: its length as asked (its pages reach {@link #pageUp} of it) and its stack. */
    private record Range(long length, int stack) {
    }

    private final LiveAllocations table;
    private final TreeMap<Long, Range> ranges = new TreeMap<>();

    public Mappings(LiveAllocations table) {
        this.table = table;
    }

    /**
     * {@code mmap} returned {@code address} for {@code length} bytes under {@code stack}. A counted mapping still
     * overlapping it was unmapped by a path not probed (a raw system call): its pages go first.
     */
    public void mapped(long address, long length, int stack, Sink sink) {
        unmapped(address, length, sink);
        ranges.put(address, new Range(length, stack));
        table.allocated(address, length, stack);
        sink.event(true, address, length, stack);
    }

    /** {@code munmap(address, length)}: the pages of counted mappings in that range go, the rest of each stays. */
    public void unmapped(long address, long length, Sink sink) {
        if (length <= 0) {
            return;
        }
        long end = address + pageUp(length);
        List<Map.Entry<Long, Range>> hit = new ArrayList<>();
        Map.Entry<Long, Range> below = ranges.lowerEntry(address);
        if (below != null && below.getKey() + pageUp(below.getValue().length()) > address) {
            hit.add(below);
        }
        hit.addAll(ranges.subMap(address, true, end, false).entrySet());
        for (Map.Entry<Long, Range> e : List.copyOf(hit)) {
            long start = e.getKey();
            Range r = e.getValue();
            ranges.remove(start);
            long headSize = Math.max(0, address - start);
            long tailSize = start + r.length() - end; // > 0 only when its pages reach past the range
            List<Long> pieces = new ArrayList<>(4);
            if (headSize > 0) {
                pieces.add(start);
                pieces.add(headSize);
            }
            if (tailSize > 0) {
                pieces.add(end);
                pieces.add(tailSize);
            }
            sink.event(false, start, r.length(), r.stack());
            if (pieces.isEmpty()) {
                table.freed(start);
                continue;
            }
            long[] p = pieces.stream().mapToLong(Long::longValue).toArray();
            table.cut(start, p);
            for (int i = 0; i < p.length; i += 2) {
                ranges.put(p[i], new Range(p[i + 1], r.stack()));
                sink.event(true, p[i], p[i + 1], r.stack());
            }
        }
    }

    /**
     * {@code mremap(old, oldLength, newLength, flags)} returned {@code address}: when {@code old} lies in a counted
     * mapping, the old range's pages go (unless {@code MREMAP_DONTUNMAP} kept them mapped) and the new mapping is
     * counted under {@code stack}, the caller's; otherwise it is not a mapping counted here and is ignored.
     */
    public void remapped(long old, long oldLength, long flags, long address, long newLength, int stack, Sink sink) {
        Map.Entry<Long, Range> at = ranges.floorEntry(old);
        if (at == null || at.getKey() + pageUp(at.getValue().length()) <= old || oldLength <= 0) {
            return; // oldLength 0 duplicates a shared mapping: not followed
        }
        if ((flags & MREMAP_DONTUNMAP) == 0) {
            unmapped(old, oldLength, sink);
        }
        mapped(address, newLength, stack, sink);
    }

    /** Mappings counted now. */
    public int count() {
        return ranges.size();
    }

    static long pageUp(long length) {
        return (length + PAGE - 1) & -PAGE;
    }
}
