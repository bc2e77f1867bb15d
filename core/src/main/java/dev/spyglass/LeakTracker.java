package dev.spyglass;

import java.util.ArrayList;
import java.util.List;

import dev.spyglass.internal.leaks.AllocatorWatch;
import dev.spyglass.internal.leaks.ArenaPoints;
import dev.spyglass.internal.leaks.MmapPoints;
import dev.spyglass.internal.leaks.PoolPoints;
import dev.spyglass.internal.leaks.LiveAllocations;
import dev.spyglass.internal.leaks.ProbePoints;
import dev.spyglass.internal.nativeframes.AllocationStacks;
import dev.spyglass.internal.python.Target;

/**
 * Allocation and leak tracking from outside: uprobes on the target's small-object allocator (exact level) or on
 * its raw allocator and pymalloc's arena allocator only (coarse level, {@link Level}) and the release functions (chosen from the build's symbols), every allocation's Python stack (merged with its native
 * stack on request),
 * releases matched by address. Each probed call traps into the kernel (a few microseconds): meant for short
 * debugging sessions. The probes go when {@link #close()} runs, or when this JVM dies (they live with their
 * file descriptors). Call {@link #poll()} regularly (every 10-100 ms) from one thread;
 * {@link #poll(java.util.function.Consumer)} also hands over each allocation and release seen, as an
 * {@link AllocationEvent}.
 *
 * <pre>{@code
 * try (LeakTracker t = LeakTracker.attach(pid)) {
 *     long end = System.nanoTime() + 60_000_000_000L;
 *     while (System.nanoTime() < end) { t.poll(); Thread.sleep(20); }
 *     LeakReport r = t.report();
 * }
 * }</pre>
 */
public final class LeakTracker implements AutoCloseable {
    /** Live allocations kept by default (about 100 bytes of this JVM's heap each). */
    public static final int DEFAULT_CAPACITY = 4_000_000;

    /** How much is probed, and so what the target pays (figures in docs/performance.md). */
    public enum Level {
        /** Every small-object allocation and release ({@code _PyObject_Malloc} and siblings): short sessions. */
        EXACT,
        /**
         * Only the raw allocator ({@code _PyMem_RawMalloc} and siblings): blocks over pymalloc's 512-byte limit
         * (big objects, the item arrays of long lists) and raw buffers; and, where its functions are found
         * ({@code .symtab}, or through the arena table on stripped builds), pymalloc's arena allocator: each arena
         * (256 KiB before 3.10, 1 MiB from 3.10 on) under the stack of the small-object allocation that needed it,
         * below {@link Frame#PYMALLOC_ARENA}; and the C library's {@code mmap} / {@code munmap} / {@code mremap}:
         * anonymous mappings made outside the probed allocators, below {@link Frame#MAPPED}, followed when unmapped
         * in part or remapped.
         * Cheap where small objects dominate: for long runs. {@link LeakReport#meaning()} says what the figures
         * then mean.
         */
        COARSE,
        /**
         * As {@link #COARSE}, with pymalloc's pool refills probed in place of its arena refills where the build has
         * the refill function ({@code allocate_from_new_pool}, 3.9+ builds with {@code .symtab}; elsewhere the
         * arenas, and the probes line says why): each pool (4 KiB on 3.9, 16 KiB from 3.10 on) under the stack of the
         * small-object allocation that needed it, below {@link Frame#PYMALLOC_POOL}, 64 times finer than an arena.
         * A pool's release has no function of its own: it is found by reading the headers of the pools recorded at
         * every {@link #poll()}. Dearer than {@link #COARSE}: a trap per pool taken, which a program that empties and
         * refills pools in a loop pays at every turn (figures in docs/performance.md).
         */
        POOLS
    }

    private final Target target;
    private final AllocationStacks stacks;
    private final long start = System.nanoTime();
    private final long pid;
    private final Level level;

    private LeakTracker(Target target, AllocationStacks stacks, Level level) {
        this.target = target;
        this.stacks = stacks;
        this.pid = target.pid();
        this.level = level;
    }

    /** {@link #attach(long, int, boolean)} with {@link #DEFAULT_CAPACITY}, Python frames only. */
    public static LeakTracker attach(long pid) throws SpyglassException {
        return attach(pid, DEFAULT_CAPACITY, false);
    }

    /**
     * Places the probes on every Python thread of {@code pid}.
     *
     * @param capacity     live allocations kept at most; beyond, new ones are counted as dropped
     * @param nativeFrames whether to copy 8 KiB of user stack at each allocation and merge native frames into
     *                     its stack (many more records: under load the kernel drops them, counted as lost)
     * @throws AccessDeniedException no right to place uprobes (the message names root / CAP_PERFMON / CAP_SYS_ADMIN)
     * @throws SpyglassException     not a CPython, or no probe point in its build (the message names the symbols)
     */
    public static LeakTracker attach(long pid, int capacity, boolean nativeFrames) throws SpyglassException {
        return attach(pid, capacity, nativeFrames, Level.EXACT);
    }

    /**
     * Places the probes of {@code level} on every Python thread of {@code pid}; otherwise as
     * {@link #attach(long, int, boolean)}.
     */
    public static LeakTracker attach(long pid, int capacity, boolean nativeFrames, Level level)
            throws SpyglassException {
        return attach(pid, capacity, nativeFrames, level, false);
    }

    /**
     * As {@link #attach(long, int, boolean, Level)}; with {@code redirectAllocator}, on a stripped LTO build whose
     * allocator tables hold their defaults (Debian's 3.11, 3.13 - 3.15), whose inlined copies of pymalloc the
     * probes would otherwise not see, the tables are changed in the target for the run: each function pointer is
     * moved 4 bytes on, past its {@code endbr64} (one byte written per slot), so every allocation calls through the
     * table, and its functions are probed there; {@link #close()} writes the bytes back. The only write this
     * library makes to a target; a JVM that dies leaves the tables redirected (the same allocator, called
     * indirectly). No effect on other builds.
     *
     * @throws SpyglassException the tables cannot be redirected (the message says why)
     */
    public static LeakTracker attach(long pid, int capacity, boolean nativeFrames, Level level,
            boolean redirectAllocator) throws SpyglassException {
        java.util.Objects.requireNonNull(level, "level");
        Target target = Target.attach(pid);
        try {
            AllocationStacks s = new AllocationStacks(target, capacity, nativeFrames, level != Level.EXACT,
                    redirectAllocator, level == Level.POOLS);
            LeakTracker t = new LeakTracker(target, s, level);
            t.poll();
            return t;
        } catch (SpyglassException | RuntimeException | Error e) {
            target.close();
            throw e;
        }
    }

    /**
     * The probe points, e.g. {@code _PyObject_Malloc / _PyObject_Free / _PyObject_Realloc / _PyObject_Calloc in
     * /…/libpython3.12.so.1.0}; on a stripped build whose allocator table is hooked, the functions the table held,
     * by domain and address ({@code obj.malloc@0x6003c0 / obj.free@0x6010b0 / ...}); followed by what the points are
     * known to miss on this build, if anything ({@code (... bypass PyObject_Malloc ...)}); at the coarse level then
     * the arena functions ({@code , pymalloc arenas: _PyMem_ArenaAlloc / _PyMem_ArenaFree}; on a stripped build
     * {@code arena.alloc@0x4f1e50 / arena.free@0x4f1e40 (through the arena table PyObject_GetArenaAllocator
     * reads)}) or why they are not probed ({@code (pymalloc arenas not probed: ...)}); at the pools level first the pool
     * refill ({@code , pymalloc pools: allocate_from_new_pool (16 KiB pools, released when their header reads empty)})
     * or why it is not probed, the arenas then standing in; then the C library's
     * ({@code , mmap / munmap in /usr/lib/x86_64-linux-gnu/libc.so.6}) or why those are not probed.
     */
    public String probes() {
        ProbePoints p = stacks.points();
        PoolPoints.Found pl = stacks.pools();
        String pools = pl.points().map(x -> ", pymalloc pools: " + x.symbol() + " ("
                + (stacks.poolSize() > 0 ? stacks.poolSize() : x.poolSize()) / 1024
                + " KiB pools, released when their header reads empty)")
                .orElse(pl.reason().isEmpty() ? "" : " (" + pl.reason() + ")");
        ArenaPoints.Found a = stacks.arenas();
        String arenas = pools + a.points().map(x -> ", pymalloc arenas: " + x.allocSymbol() + " / " + x.freeSymbol()
                + (x.route().isEmpty() ? "" : " (" + x.route() + ")"))
                .orElse(a.reason().isEmpty() ? "" : " (" + a.reason() + ")");
        MmapPoints.Found m = stacks.mmaps();
        arenas += m.points().map(x -> ", mmap / munmap in " + x.object())
                .orElse(m.reason().isEmpty() ? "" : " (" + m.reason() + ")");
        String unwatched = stacks.watch().unwatched();
        arenas += unwatched.isEmpty() ? "" : " (" + unwatched + ")";
        String redirected = stacks.redirected().isEmpty() ? ""
                : " (allocator tables redirected past endbr64 for the run: " + stacks.redirected() + ")";
        return p.allocSymbol() + " / " + p.freeSymbol() + " / " + p.reallocSymbol() + " / " + p.callocSymbol() + " in "
                + p.object() + (p.caveat().isEmpty() ? "" : " (" + p.caveat() + ")") + redirected + arenas;
    }

    /** Reads the probe records written since the last poll, follows new threads, snapshots the surviving memory. */
    public void poll() throws SpyglassException {
        stacks.poll();
    }

    /**
     * As {@link #poll()}, and gives {@code consumer} every allocation and release read, in the order the probes
     * fired over all threads, as they are applied to the table of live blocks (so a release's size is known when
     * its allocation was seen). The consumer runs on the polling thread: what it does delays the next poll, and a
     * probe ring that fills meanwhile loses records ({@link LeakReport#lostRecords()}).
     *
     * <pre>{@code
     * t.poll(e -> { if (e.kind() == AllocationEvent.Kind.ALLOCATION && e.size() > 1 << 20) log(e); });
     * }</pre>
     */
    public void poll(java.util.function.Consumer<AllocationEvent> consumer) throws SpyglassException {
        java.util.Objects.requireNonNull(consumer, "consumer");
        stacks.poll((allocation, tid, time, address, size, stack) -> consumer.accept(allocation
                ? new AllocationEvent(AllocationEvent.Kind.ALLOCATION, tid, time, address, size, stacks.stack(stack))
                : new AllocationEvent(AllocationEvent.Kind.RELEASE, tid, time, address, size, List.of())));
    }

    /** The report so far: every stack with surviving memory, suspects first. */
    public LeakReport report() {
        LiveAllocations t = stacks.table();
        long[] times = t.times();
        double[] seconds = new double[times.length];
        for (int i = 0; i < times.length; i++) {
            seconds[i] = (times[i] - start) / 1e9;
        }
        List<LeakReport.StackReport> out = new ArrayList<>();
        for (LiveAllocations.Ranked r : t.rank()) {
            out.add(new LeakReport.StackReport(stacks.stack(r.stack()), r.survivingBytes(), r.survivingCount(),
                    r.allocations(), r.allocatedBytes(), r.growthBytesPerSecond(), r.growingShare(), r.suspect(),
                    r.seriesBytes()));
        }
        List<LeakReport.AllocatorChange> changes = new ArrayList<>();
        for (AllocatorWatch.Change c : stacks.watch().changes()) {
            changes.add(new LeakReport.AllocatorChange((c.time() - start) / 1e9, c.domain(), c.before(), c.after(),
                    c.seen(), c.movedTo()));
        }
        return new LeakReport(pid, level.name().toLowerCase(java.util.Locale.ROOT), probes(),
                (System.nanoTime() - start) / 1e9, t.allocations(), t.frees(), t.live(), t.dropped(),
                t.unmatchedFrees(), stacks.lostRecords(), out, seconds, changes);
    }

    /** Removes the probes from the target and detaches. */
    @Override
    public void close() {
        try {
            stacks.close();
        } finally {
            target.close();
        }
    }
}
