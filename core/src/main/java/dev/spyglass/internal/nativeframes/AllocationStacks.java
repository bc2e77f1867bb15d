package dev.spyglass.internal.nativeframes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.kernel.AllocationUprobes;
import dev.spyglass.internal.leaks.AllocatorWatch;
import dev.spyglass.internal.leaks.ArenaPoints;
import dev.spyglass.internal.leaks.LiveAllocations;
import dev.spyglass.internal.leaks.Mappings;
import dev.spyglass.internal.leaks.MmapPoints;
import dev.spyglass.internal.leaks.PoolPoints;
import dev.spyglass.internal.leaks.PoolSweep;
import dev.spyglass.internal.leaks.ProbePoints;
import dev.spyglass.internal.leaks.TableRedirect;
import dev.spyglass.internal.python.Target;

/**
 * Allocation tracking: uprobes on the allocator and its release function ({@link ProbePoints}; at the coarse
 * level also pymalloc's arenas, or its pools, and the C library's mappings) of every Python thread; this class reads
 * what each probe record means (which call, which block, its size, its address from the return) and applies it, a
 * release matched by address in {@link LiveAllocations}; each allocation's stack is named by
 * {@link AllocationStackNames}.
 * Used from the polling thread only.
 */
public final class AllocationStacks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AllocationStacks.class);
    /**
     * With native frames, 8 KiB of stack per allocation: the native frames from the allocator up to the evaluation
     * loops. It is also 8 KiB the kernel writes and this poller reads per allocation: a 3.12 target allocating
     * 20,000 blocks a second lost 13 - 90% of its records on a loaded 2-core machine, hence off by default.
     */
    static final int STACK_BYTES = 8 * 1024;
    /** 16 MiB ring per thread: about 2,000 allocations with stacks, 170,000 without, between two polls. */
    static final int DATA_PAGES = 4096;

    private final Target target;
    /** How this process opens the interpreter's object. */
    private final Path file;
    private final boolean coarse;
    private final int stackBytes;
    /** Replaced when the probes are re-aimed at an allocator installed during the run. */
    private ProbePoints points;
    /** The allocator tables pointed past their functions' endbr64 for the run, when asked and bypassed. */
    private final java.util.Optional<TableRedirect> redirect;
    /** Coarse level: pymalloc's arena allocator, or why it is not probed (not with pools). */
    private final ArenaPoints.Found arenas;
    /** Pools level: pymalloc's pool refill, or why it is not probed; its records and header sweep (else null). */
    private final PoolPoints.Found pools;
    private final PoolSweep poolSweep;
    /** Coarse level: the C library's {@code mmap} / {@code munmap}, or why they are not probed. */
    private final MmapPoints.Found mmaps;
    /** The live mappings counted, as ranges: {@code munmap} of a part and {@code mremap} followed. */
    private final Mappings mapped;
    private AllocationUprobes probes;
    /** Records lost by probes since replaced ({@link #reaim}). */
    private long lostBefore;
    /** The allocator tables the points were chosen by, re-read at each poll. */
    private final AllocatorWatch watch;
    private final NativeSplice splice;
    private final AllocationStackNames names;
    private final LiveAllocations table;
    /** Per thread, the entries whose return is awaited. */
    private final AwaitedEntries pending = new AwaitedEntries();
    private static final long[] SKIPPED = AwaitedEntries.SKIPPED;
    private final List<long[]> events = new ArrayList<>();
    /** The threads of this poll's read, their Python stacks read now. */
    private final ListedThreads now = new ListedThreads();

    /**
     * @param capacity live allocations kept at most
     * @param coarse   the raw allocator's points ({@link ProbePoints#chooseCoarse}) rather than the small-object
     *                 allocator's
     * @param redirect redirect for the run the allocator tables the build's inlined pymalloc bypasses ({@link TableRedirect})
     * @param pools    (coarse only) probe pool refills in place of arenas where the build has them ({@link PoolPoints})
     * @throws dev.spyglass.AccessDeniedException the kernel refuses uprobes (the message says which right)
     * @throws SpyglassException                  no probe point in this build (the message names the symbols)
     */
    public AllocationStacks(Target target, int capacity, boolean nativeFrames, boolean coarse, boolean redirect,
            boolean pools) throws SpyglassException {
        this.target = target;
        String object = target.interpreter().objectPath();
        Path file = Files.isReadable(Path.of(object)) ? Path.of(object)
                : Path.of("/proc", Long.toString(target.pid()), "root", object);
        this.file = file;
        this.coarse = coarse;
        this.stackBytes = nativeFrames ? STACK_BYTES : 0;
        // The mem domain is pymalloc too: its inlined copies bypass the obj table's probes as well.
        this.redirect = !redirect ? java.util.Optional.empty()
                : coarse ? TableRedirect.apply(target, file, "PyMem_Raw")
                : TableRedirect.apply(target, file, "PyObject_", "PyMem_");
        try {
            this.points = ProbePoints.forTarget(target, file, coarse);
        } catch (SpyglassException | RuntimeException | Error e) {
            this.redirect.ifPresent(TableRedirect::close);
            throw e;
        }
        if (!points.caveat().isEmpty()) {
            LOG.warn("allocation probes on {} of {}: {}", points.allocSymbol(), object, points.caveat());
        }
        this.pools = coarse && pools ? PoolPoints.find(file, target.version())
                : new PoolPoints.Found(java.util.Optional.empty(), "");
        // Pools are carved from arenas: probing both would count the same memory twice.
        this.arenas = coarse && this.pools.points().isEmpty() ? ArenaPoints.find(target, file)
                : new ArenaPoints.Found(java.util.Optional.empty(), "");
        this.poolSweep = this.pools.points().map(x -> new PoolSweep(target.pid(), x.poolSize())).orElse(null);
        this.mmaps = coarse ? MmapPoints.find(target) : new MmapPoints.Found(java.util.Optional.empty(), "");
        this.table = new LiveAllocations(capacity);
        this.mapped = new Mappings(table);
        try {
            this.watch = AllocatorWatch.attach(target, file, coarse, points.allocOffset(),
                    arenas.points().map(ArenaPoints::allocOffset).orElse(-1L));
            this.probes = probesOn(points);
        } catch (SpyglassException | RuntimeException | Error e) {
            this.redirect.ifPresent(TableRedirect::close);
            throw e;
        }
        try {
            probes.check((int) target.pid());
            this.splice = nativeFrames ? new NativeSplice(target, false) : null;
            this.names = new AllocationStackNames(splice);
        } catch (SpyglassException | RuntimeException | Error e) {
            probes.close();
            this.redirect.ifPresent(TableRedirect::close);
            throw e;
        }
        LOG.debug("allocation probes on {} / {} of {}", points.allocSymbol(), points.freeSymbol(), object);
    }

    private AllocationUprobes probesOn(ProbePoints p) throws SpyglassException {
        return new AllocationUprobes(target.pid(), file.toString(), p.allocOffset(), p.freeOffset(),
                p.reallocOffset(), p.callocOffset(),
                arenas.points().map(ArenaPoints::allocOffset).orElse(-1L),
                arenas.points().map(ArenaPoints::freeOffset).orElse(-1L),
                pools.points().map(PoolPoints::offset).orElse(-1L),
                mmaps.points().map(MmapPoints::file).orElse(null), mmaps.points().map(MmapPoints::mmapOffset).orElse(-1L),
                mmaps.points().map(MmapPoints::munmapOffset).orElse(-1L),
                mmaps.points().map(MmapPoints::mremapOffset).orElse(-1L), stackBytes, DATA_PAGES);
    }

    /**
     * After an allocator change the probes do not see, or one that ends a bypass they were known to suffer
     * (Debian's LTO builds: tracemalloc started in a target probed at the exported functions), chooses the points
     * anew for the tables as they are now and, when they differ, opens the new probes on every thread before the
     * old ones close. Calls made between the change and this poll are not seen (at most one poll); entries awaiting
     * their returns are dropped (the returns would come from the other probes). Any failure keeps the old probes,
     * and the change stays said as not seen.
     *
     * @return the new points' names, or empty when the probes stay where they are
     */
    private String reaim() {
        ProbePoints p;
        try {
            p = ProbePoints.forTarget(target, file, coarse);
        } catch (SpyglassException | RuntimeException e) {
            LOG.warn("allocator changed in pid {}: no probe point for the new one ({}); the probes stay", target.pid(),
                    e.getMessage());
            return "";
        }
        if (p.allocOffset() == points.allocOffset() && p.freeOffset() == points.freeOffset()
                && p.reallocOffset() == points.reallocOffset() && p.callocOffset() == points.callocOffset()) {
            points = p; // the same functions; the contexts to accept may differ
            return "";
        }
        AllocationUprobes fresh = null;
        try {
            fresh = probesOn(p);
            fresh.check((int) target.pid());
            fresh.track(now.tids(), now.count());
            watch.rebase(p.allocOffset()); // reads the map first: nothing changed when it fails
        } catch (SpyglassException | RuntimeException e) {
            if (fresh != null) {
                fresh.close();
            }
            LOG.warn("allocator changed in pid {}: the probes cannot be moved to {} ({}); they stay", target.pid(),
                    p.allocSymbol(), e.getMessage());
            return "";
        }
        lostBefore += probes.lostRecords();
        probes.close();
        probes = fresh;
        points = p;
        pending.clear();
        LOG.info("allocation probes of pid {} moved to {} / {} for the allocator now installed", target.pid(),
                p.allocSymbol(), p.freeSymbol());
        return p.allocSymbol() + " / " + p.freeSymbol() + " / " + p.reallocSymbol() + " / " + p.callocSymbol();
    }

    /** The probe points chosen for this build. */
    public ProbePoints points() {
        return points;
    }

    /** The tables redirected for the run ({@link TableRedirect#tables}), empty when none. */
    public String redirected() {
        return redirect.map(TableRedirect::tables).orElse("");
    }

    /** The allocator tables watched since attach, and what changed in them. */
    public AllocatorWatch watch() {
        return watch;
    }

    /** The coarse level's arena probes, or why there are none (empty reason at the exact level). */
    public ArenaPoints.Found arenas() {
        return arenas;
    }

    /** The pools level's pool probes, or why there are none (empty reason at the other levels). */
    public PoolPoints.Found pools() {
        return pools;
    }

    /** The pool size recorded (4 or 16 KiB); 0 before the first pool, or without pools. */
    public long poolSize() {
        return poolSweep == null ? 0 : poolSweep.poolSize();
    }

    /** The coarse level's {@code mmap} probes, or why there are none (empty reason at the exact level). */
    public MmapPoints.Found mmaps() {
        return mmaps;
    }

    /**
     * Receives each allocation and release {@link #poll} applies, in time order; {@code stack} is an id for
     * {@link #stack}, -1 for a release; {@code size} of a release is its block's as allocated, -1 when unknown.
     */
    @FunctionalInterface
    public interface EventSink {
        void event(boolean allocation, int tid, long time, long address, long size, int stack);
    }

    /** Reads the Python stacks, follows the threads, applies every probe record since the last poll, snapshots. */
    public void poll() throws SpyglassException {
        poll(null);
    }

    /** As {@link #poll()}, giving each allocation and release applied to {@code sink} (none when null). */
    public void poll(EventSink sink) throws SpyglassException {
        now.list(target, target.readThreads(SamplingMode.WALL));
        int count = now.count();
        probes.track(now.tids(), count);
        events.clear();
        names.newPoll(); // the Python stacks were read anew
        boolean si = points.sizeInSi();
        probes.drain((kind, tid, time, ax, rcx, rdx, rsi, rdi, r8, bp, sp, ip, stack) -> {
            // Through a hooked table (ctx first, in rdi), one function may serve several domains: tracemalloc's
            // free serves all three, and on Debian's 3.15 its malloc hooks of raw and obj are one function (ICF),
            // so a raw call nests inside an obj call there. Calls of other domains are skipped, their returns too.
            boolean wanted = points.accepts(rdi);
            switch (kind) {
                case REALLOC_ENTRY -> pending.push(tid, wanted ? new long[] {time, si ? rsi : rdi, si ? rdx : rsi,
                        names.of(now, tid, ip, sp, bp, stack)} : SKIPPED);
                case REALLOC_RETURN -> {
                    long[] e = pending.pop(tid);
                    // A failed realloc (NULL) leaves the old block: neither released nor allocated.
                    if (e != null && e.length == 4 && ax != 0) {
                        if (e[1] != 0) {
                            events.add(new long[] {time, e[1], -1, -1, tid});
                        }
                        events.add(new long[] {time, ax, e[2], e[3], tid});
                    }
                }
                case ALLOC_ENTRY -> pending.push(tid, wanted ? new long[] {time, si ? rsi : rdi,
                        names.of(now, tid, ip, sp, bp, stack)} : SKIPPED);
                case CALLOC_ENTRY -> pending.push(tid, wanted ? new long[] {time, si ? rsi * rdx : rdi * rsi,
                        names.of(now, tid, ip, sp, bp, stack)} : SKIPPED);
                case ALLOC_RETURN, CALLOC_RETURN -> {
                    long[] e = pending.pop(tid);
                    if (e != null && e.length == 3) {
                        events.add(new long[] {time, ax, e[1], e[2], tid});
                    }
                }
                case FREE -> {
                    if (wanted) {
                        events.add(new long[] {time, si ? rsi : rdi, -1, -1, tid});
                    }
                }
                // The arena functions take the arena table's context first on every version: size / pointer in rsi.
                case ARENA_ENTRY -> pending.push(tid, new long[] {time, rsi, names.under(Frame.PYMALLOC_ARENA, names.of(now, tid, ip, sp, bp, stack))});
                case ARENA_RETURN -> {
                    long[] e = pending.pop(tid);
                    if (e != null && e.length == 3 && ax != 0 && ax != -1) { // NULL (3.12+) or MAP_FAILED: none
                        events.add(new long[] {time, ax, e[1], e[2], tid});
                    }
                }
                case ARENA_FREE -> events.add(new long[] {time, rsi, -1, -1, tid});
                case POOL_ENTRY -> pending.push(tid, new long[] {time, 0,
                        names.under(Frame.PYMALLOC_POOL, names.of(now, tid, ip, sp, bp, stack))});
                case POOL_RETURN -> {
                    long[] e = pending.pop(tid);
                    if (e != null && e.length == 3 && ax != 0) { // the pool's first block; NULL: no memory
                        events.add(new long[] {time, ax, 0, e[2], tid, POOLED});
                    }
                }
                // mmap(addr, length, prot, flags, fd, offset): anonymous (MAP_ANONYMOUS 0x20) and accessible
                // (PROT_READ|PROT_WRITE: not a PROT_NONE reservation such as glibc's heaps for threads), not
                // MAP_FIXED (0x10: over pages already mapped). One made while a probed call is in progress on
                // the thread (glibc's malloc mapping a large block for the raw allocator, pymalloc's arena) is
                // counted there already.
                case MMAP_ENTRY -> pending.push(tid, !pending.inProgress(tid) && (rcx & 0x30) == 0x20 && (rdx & 3) != 0
                        ? new long[] {time, rsi, names.under(Frame.MAPPED, names.of(now, tid, ip, sp, bp, stack))}
                        : SKIPPED);
                case MMAP_RETURN -> {
                    long[] e = pending.pop(tid);
                    if (e != null && e.length == 3 && ax != -1 && ax != 0) { // MAP_FAILED: none
                        events.add(new long[] {time, ax, e[1], e[2], tid, MAPPED});
                    }
                }
                // munmap(addr, length): the pages of counted mappings in the range go (Mappings).
                case MUNMAP -> events.add(new long[] {time, rdi, rsi, -1, tid, UNMAPPED});
                // mremap(old, oldLength, newLength, flags, ...): skipped inside a probed call (glibc's realloc of
                // a mapped block for the raw allocator); followed when old lies in a counted mapping (Mappings).
                case MREMAP_ENTRY -> pending.push(tid, !pending.inProgress(tid)
                        ? new long[] {time, rdi, rsi, rdx, rcx, names.under(Frame.MAPPED, names.of(now, tid, ip, sp, bp, stack))}
                        : SKIPPED);
                case MREMAP_RETURN -> {
                    long[] e = pending.pop(tid);
                    if (e != null && e.length == 6 && ax != -1) { // MAP_FAILED: the old mapping stays as it was
                        events.add(new long[] {time, ax, e[3], e[5], tid, REMAPPED, e[1], e[2], e[4]});
                    }
                }
            }
        });
        // Threads' rings are read one after the other: a block allocated in one thread and freed in another
        // must be applied in time order (a stable sort: a realloc's release stays before its allocation).
        events.sort((a, b) -> Long.compare(a[0], b[0]));
        for (long[] e : events) {
            if (e.length > 5 && e[5] == POOLED) {
                poolSweep.refilled(e[1], (int) e[3], (int) e[4], e[0], table, sink == null ? null : sink::event);
                continue;
            }
            if (e.length > 5) {
                int tid = (int) e[4];
                long time = e[0];
                Mappings.Sink to = sink == null ? (a, address, size, stack) -> { }
                        : (a, address, size, stack) -> sink.event(a, tid, time, address, size, a ? stack : -1);
                if (e[5] == MAPPED) {
                    mapped.mapped(e[1], e[2], (int) e[3], to);
                } else if (e[5] == UNMAPPED) {
                    mapped.unmapped(e[1], e[2], to); // ignored when it touches no mapping counted here
                } else {
                    mapped.remapped(e[6], e[7], e[8], e[1], e[2], (int) e[3], to);
                }
                continue;
            }
            if (e[3] < 0) {
                long size = table.freed(e[1]);
                if (sink != null) {
                    sink.event(false, (int) e[4], e[0], e[1], size, -1);
                }
            } else {
                table.allocated(e[1], e[2], (int) e[3]);
                if (sink != null) {
                    sink.event(true, (int) e[4], e[0], e[1], e[2], (int) e[3]);
                }
            }
        }
        long time = System.nanoTime();
        if (poolSweep != null) { // after the records: a pool whose refill was just seen is in use
            poolSweep.sweep(table, time, sink == null ? null : sink::event);
        }
        table.snapshot(time);
        names.remember(now);
        // After the records: a change seen now happened at most one poll ago, and is said from then on.
        List<AllocatorWatch.Change> changed = watch.check(time);
        if (changed.stream().anyMatch(c -> !c.seen() && !c.domain().equals("arena"))
                || !changed.isEmpty() && !points.caveat().isEmpty()) {
            String to = reaim();
            if (!to.isEmpty()) {
                watch.reaimed(changed, to);
            }
        }
    }

    private static final long MAPPED = 1;
    private static final long UNMAPPED = 2;
    private static final long REMAPPED = 3;
    private static final long POOLED = 4;

    /** The table of live allocations. */
    public LiveAllocations table() {
        return table;
    }

    /** Stack {@code id}'s frames, innermost first. */
    public List<Frame> stack(int id) {
        return names.stack(id);
    }

    /** Probe records the kernel dropped (a ring full between two polls): allocations or releases not seen. */
    public long lostRecords() {
        return lostBefore + probes.lostRecords();
    }

    public long spliced() {
        return names.spliced();
    }

    public long unspliced() {
        return names.unspliced();
    }

    public long unattributed() {
        return names.unattributed();
    }

    /** Removes every probe from the target. */
    @Override
    public void close() {
        // the tables first: no call goes to the probed entries once they are closed anyway
        redirect.ifPresent(TableRedirect::close);
        probes.close();
        if (splice != null) {
            splice.close();
        }
        if (poolSweep != null) {
            poolSweep.close();
        }
    }
}
