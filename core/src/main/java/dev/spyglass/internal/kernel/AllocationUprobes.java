package dev.spyglass.internal.kernel;

import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.SpyglassException;

/**
 * Seven uprobes per thread of the target ({@link UprobeSet}; ten with pymalloc's arena allocator, two more with its
 * pool refill, five more with {@code mmap} / {@code munmap} / {@code mremap}): on the
 * allocator's entry (its size argument, the
 * user registers and, on request, a copy of the user stack), on its return (a uretprobe: the returned pointer in
 * {@code rax}), on the release function's entry (the pointer freed), on the reallocation function's entry and
 * return (a list growing moves its items there) and on the zeroing allocator's entry and return (a new list's
 * items come from there). The events of a thread write into one ring, in the order they fired, so an entry is
 * followed by its own return.
 *
 * <p>A PMU uprobe lives as long as its descriptor: closing the events (or the JVM dying, which closes them)
 * removes the breakpoints from the target. Each hit traps into the kernel (about 6 µs measured on this kind of
 * machine), which is the cost the target pays.
 */
public final class AllocationUprobes implements AutoCloseable {
    /** What a record is (in the order of the probes given to the {@link UprobeSet}). */
    public enum Kind {
        ALLOC_ENTRY, ALLOC_RETURN, FREE, REALLOC_ENTRY, REALLOC_RETURN, CALLOC_ENTRY, CALLOC_RETURN,
        /** pymalloc's arena allocator (coarse level, when found): entry, return, and the arena release. */
        ARENA_ENTRY, ARENA_RETURN, ARENA_FREE,
        /** pymalloc's pool refill (pools level, when found): entry, and return with the pool's first block. */
        POOL_ENTRY, POOL_RETURN,
        /** The C library's {@code mmap} (entry, return) and {@code munmap} (coarse level, when found). */
        MMAP_ENTRY, MMAP_RETURN, MUNMAP,
        /** The C library's {@code mremap} (entry, return), with {@code mmap} when the library has it. */
        MREMAP_ENTRY, MREMAP_RETURN
    }

    /** The kind of each probe, by its index in the set (arena and mmap probes are optional). */
    private final Kind[] kinds;

    /** Receives each record of {@link #drain}; {@code stack} is valid during the call only (empty but for entries). */
    @FunctionalInterface
    public interface Visitor {
        void record(Kind kind, int tid, long time, long ax, long cx, long dx, long si, long di, long r8, long bp,
                long sp, long ip, MemorySegment stack);
    }

    private final UprobeSet set;

    /**
     * @param objectPath  the object holding both functions, as this process can open it
     * @param allocOffset file offset of the allocator; {@code sizeInSi} is read by the caller
     * @param freeOffset  file offset of the release function
     * @param reallocOffset file offset of the reallocation function (a release of its pointer and an allocation)
     * @param callocOffset  file offset of the zeroing allocator (a list's items come from there)
     * @param stackBytes  user stack copied at each allocation (0: none, registers only)
     * @throws AccessDeniedException the kernel refuses uprobes (the message says which right is missing)
     * @throws SpyglassException     this kernel has no uprobe PMU
     */
    public AllocationUprobes(long pid, String objectPath, long allocOffset, long freeOffset,
            long reallocOffset, long callocOffset, int stackBytes,
            int dataPages) throws SpyglassException {
        this(pid, objectPath, allocOffset, freeOffset, reallocOffset, callocOffset, -1, -1, -1, null, -1, -1, -1,
                stackBytes, dataPages);
    }

    /**
     * As the other constructor, plus three probes on pymalloc's arena allocator ({@code arenaAllocOffset}'s entry,
     * with the stack copy, and return; {@code arenaFreeOffset}'s entry) when both offsets are non-negative, and
     * three on the C library's {@code mmap} (entry with the stack copy, return) and {@code munmap} (entry) in
     * {@code libcPath} when it is not null, and two on its {@code mremap} (entry, return) when {@code mremapOffset}
     * is non-negative too; and two on pymalloc's pool refill (entry with the stack copy, return) when
     * {@code poolOffset} is non-negative.
     */
    public AllocationUprobes(long pid, String objectPath, long allocOffset, long freeOffset,
            long reallocOffset, long callocOffset, long arenaAllocOffset, long arenaFreeOffset, long poolOffset,
            String libcPath,
            long mmapOffset, long munmapOffset, long mremapOffset, int stackBytes, int dataPages)
            throws SpyglassException {
        if (stackBytes < 0 || (stackBytes & 7) != 0 || stackBytes > 65_000 || Integer.bitCount(dataPages) != 1) {
            throw new IllegalArgumentException("stack " + stackBytes + ", pages " + dataPages);
        }
        List<UprobeSet.Probe> probes = new java.util.ArrayList<>(List.of(
                new UprobeSet.Probe(objectPath, allocOffset, false, stackBytes),
                new UprobeSet.Probe(objectPath, allocOffset, true, 0),
                new UprobeSet.Probe(objectPath, freeOffset, false, 0),
                new UprobeSet.Probe(objectPath, reallocOffset, false, 0),
                new UprobeSet.Probe(objectPath, reallocOffset, true, 0),
                new UprobeSet.Probe(objectPath, callocOffset, false, 0),
                new UprobeSet.Probe(objectPath, callocOffset, true, 0)));
        if (arenaAllocOffset >= 0 && arenaFreeOffset >= 0) { // in the order of Kind
            probes.add(new UprobeSet.Probe(objectPath, arenaAllocOffset, false, stackBytes));
            probes.add(new UprobeSet.Probe(objectPath, arenaAllocOffset, true, 0));
            probes.add(new UprobeSet.Probe(objectPath, arenaFreeOffset, false, 0));
        }
        List<Kind> k = new java.util.ArrayList<>(List.of(Kind.values()).subList(0, probes.size()));
        if (poolOffset >= 0) {
            probes.add(new UprobeSet.Probe(objectPath, poolOffset, false, stackBytes));
            probes.add(new UprobeSet.Probe(objectPath, poolOffset, true, 0));
            k.addAll(List.of(Kind.POOL_ENTRY, Kind.POOL_RETURN));
        }
        if (libcPath != null) {
            probes.add(new UprobeSet.Probe(libcPath, mmapOffset, false, stackBytes));
            probes.add(new UprobeSet.Probe(libcPath, mmapOffset, true, 0));
            probes.add(new UprobeSet.Probe(libcPath, munmapOffset, false, 0));
            k.addAll(List.of(Kind.MMAP_ENTRY, Kind.MMAP_RETURN, Kind.MUNMAP));
            if (mremapOffset >= 0) {
                probes.add(new UprobeSet.Probe(libcPath, mremapOffset, false, stackBytes));
                probes.add(new UprobeSet.Probe(libcPath, mremapOffset, true, 0));
                k.addAll(List.of(Kind.MREMAP_ENTRY, Kind.MREMAP_RETURN));
            }
        }
        this.kinds = k.toArray(new Kind[0]);
        this.set = new UprobeSet(pid, probes,
                dataPages, "Allocation tracking", "record --mode memory needs no perf events");
    }

    /**
     * Opens the allocator entry probe on thread {@code tid} and closes it again, so a refusal is known before
     * any thread is followed.
     */
    public void check(int tid) throws SpyglassException {
        set.check(tid);
    }

    /** Follows exactly {@code tids[0..count)}: probes on new threads, closed on threads no longer listed. */
    public void track(int[] tids, int count) throws SpyglassException {
        set.track(tids, count);
    }

    /** Gives every record written since the last drain, thread by thread, to {@code visitor}. */
    public void drain(Visitor visitor) {
        set.drainWide((probe, tid, time, ax, cx, dx, si, di, r8, bp, sp, ip, stack) ->
                visitor.record(kinds[probe], tid, time, ax, cx, dx, si, di, r8, bp, sp, ip, stack));
    }

    /** Records the kernel dropped because a ring was full, over all threads followed so far. */
    public long lostRecords() {
        return set.lostRecords();
    }

    /** How many threads carry probes. */
    public int trackedThreads() {
        return set.trackedThreads();
    }

    /** Closes every probe (the kernel removes the breakpoints with the last descriptor) and unmaps every ring. */
    @Override
    public void close() {
        set.close();
    }
}
