package dev.spyglass;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

import dev.spyglass.internal.export.LeakReportPage;

/**
 * What {@link LeakTracker#report} found: the allocations seen surviving, summed by merged stack, leak suspects
 * (stacks whose surviving memory grew over the run) first. Surviving figures are "at least" for releases the
 * probes saw and "at most" for those they did not (a block released through a path not probed stays counted).
 *
 * @param pid               the target
 * @param level             {@code "exact"} (every small-object allocation), {@code "coarse"} (the raw
 *                          allocator only: blocks over 512 bytes and raw buffers, with pymalloc's arenas) or
 *                          {@code "pools"} (as coarse, with pymalloc's pools); {@link #meaning()}
 * @param probes            the probe points, e.g. {@code _PyObject_Malloc / _PyObject_Free in /usr/lib/libpython3.12.so}
 * @param seconds           how long the probes were in place
 * @param allocations       allocations seen
 * @param frees             releases seen
 * @param live              allocations seen and not released at the end
 * @param dropped           allocations not kept because the live table was full
 * @param unmatchedFrees    releases of blocks allocated before the probes (or dropped)
 * @param lostRecords       probe records the kernel dropped (ring full): allocations or releases not seen
 * @param stacks            every stack with surviving memory, most suspect first
 * @param snapshotSeconds   the times of the surviving-bytes snapshots, seconds since the start
 * @param allocatorChanges  the target's allocator tables replaced during the run ({@code PyMem_SetAllocator}, e.g.
 *                          {@code tracemalloc.start()}), oldest first; empty when none was
 */
public record LeakReport(long pid, String level, String probes, double seconds, long allocations, long frees, long live,
        long dropped, long unmatchedFrees, long lostRecords, List<StackReport> stacks, double[] snapshotSeconds,
        List<AllocatorChange> allocatorChanges) {

    public LeakReport {
        stacks = List.copyOf(stacks);
        allocatorChanges = List.copyOf(allocatorChanges);
    }

    /** A report of a run in which no allocator table changed. */
    public LeakReport(long pid, String level, String probes, double seconds, long allocations, long frees, long live,
            long dropped, long unmatchedFrees, long lostRecords, List<StackReport> stacks, double[] snapshotSeconds) {
        this(pid, level, probes, seconds, allocations, frees, live, dropped, unmatchedFrees, lostRecords, stacks,
                snapshotSeconds, List.of());
    }

    /**
     * One of the target's allocator tables, read at each poll, found changed: the probes were chosen for the tables
     * as they were at attach.
     *
     * @param seconds  when the poll saw it, since the start (it happened at most one poll before)
     * @param domain   {@code obj}, {@code mem} (small objects, exact level), {@code raw} or {@code arena} (coarse)
     * @param before   the table's allocation function before
     * @param after    and after
     * @param seen     whether the probes still see the calls made through the table: the new allocator is the
     *                 one of attach again, or a hook that keeps the one it replaced and calls it (tracemalloc's,
     *                 the debug hooks'); when false, allocations and releases through it were not seen from then
     *                 on, until the probes were moved ({@code movedTo})
     * @param movedTo  empty, or the probe points the probes were moved to at that poll, chosen for the allocator
     *                 then installed (the probes line names them too); calls between the change and then are missed
     */
    public record AllocatorChange(double seconds, String domain, long before, long after, boolean seen,
            String movedTo) {
        /** One line for a report's reader. */
        public String describe() {
            String what = String.format(java.util.Locale.ROOT, "at %.1f s the %s allocator was replaced (0x%x -> 0x%x): ",
                    seconds, domain, before, after);
            if (!movedTo.isEmpty()) {
                return what + (seen ? "the new one calls the one the probes saw;" : "the probes did not see its calls;")
                        + " they were moved at that poll to " + movedTo + " (calls made meanwhile, at most one poll,"
                        + " are missed)";
            }
            return what + (seen
                    ? "the new one calls the one the probes see (a hook such as tracemalloc's): counts stay as complete"
                            + " as before"
                    : "the probes do not see its calls, so allocations and releases made through it from then on are"
                            + " missed: surviving figures after that time are incomplete (a new run chooses its probes"
                            + " for the allocator then installed)");
        }
    }

    /** Whether an allocator table changed during the run so that the probes no longer saw its calls. */
    public boolean allocatorLost() {
        return allocatorChanges.stream().anyMatch(c -> !c.seen() && c.movedTo().isEmpty());
    }

    /** What the surviving figures mean at this report's level, in a sentence or two for a report's reader. */
    public String meaning() {
        return levelMeaning() + (allocatorLost() ? " But the target replaced its allocator during the run, and the"
                + " probes did not see the new one's calls: see the allocator changes; the figures after that are"
                + " incomplete." : "");
    }

    private String levelMeaning() {
        boolean coarse = "coarse".equals(level) || "pools".equals(level);
        String mapped = coarse && probes.contains(", mmap / munmap in ")
                ? " A stack under <mmap> holds anonymous mappings the program made itself through the C library's"
                        + " mmap (not through CPython's allocators)." : "";
        if (coarse && probes.contains("pymalloc pools: ")) {
            return "Pools level: the raw allocator (PyMem_RawMalloc and siblings: blocks over pymalloc's 512-byte"
                    + " limit, big objects, the item arrays of long lists, buffers) and pymalloc's pool refills are"
                    + " probed, not each small object. Surviving figures of block stacks are at least the large blocks"
                    + " each stack kept. A stack under <pymalloc pool> is the stack of the small-object allocation that"
                    + " needed a new pool of its size class: a sample of where small-object memory grows, not the owner"
                    + " of every byte in it; a pool goes back only when its last object is freed, so one live object"
                    + " keeps it." + mapped;
        }
        if (coarse && probes.contains("pymalloc arenas: ")) {
            return "Coarse level: the raw allocator (PyMem_RawMalloc and siblings: blocks over pymalloc's 512-byte"
                    + " limit, big objects, the item arrays of long lists, buffers) and pymalloc's arenas are probed,"
                    + " not each small object. Surviving figures of block stacks are at least the large blocks each"
                    + " stack kept. A stack under <pymalloc arena> is the stack of the small-object allocation that"
                    + " happened to need a new arena: a sample of where small-object memory grows, not the owner of"
                    + " every byte in it; an arena goes back only when wholly empty, so a few live objects keep it."
                    + mapped;
        }
        if (coarse) {
            return "Coarse level: only the raw allocator is probed (PyMem_RawMalloc and siblings): blocks over"
                    + " pymalloc's 512-byte limit (big objects, the item arrays of long lists, buffers), not small"
                    + " objects, which pymalloc serves from its pools unseen, nor its arenas (see the probes line)."
                    + " Surviving figures are at least the large blocks each stack kept; a leak of small objects alone"
                    + " does not show at this level." + mapped;
        }
        if (probes.contains("bypass")) {
            // LeakTracker puts ProbePoints' caveat into probes: a stripped LTO build (Debian's static 3.11 - 3.15)
            // whose allocator table holds the default, so its inlined copies of pymalloc call nothing probed.
            return "Exact level, but this build's inlined copies of pymalloc bypass the probed functions while its"
                    + " allocator table holds the default: most allocations are not seen, and the figures cover only"
                    + " those made through the exported functions (see the probes line). A target started with"
                    + " PYTHONTRACEMALLOC=1, or tracked with --redirect-allocator (builds with endbr64: Debian's"
                    + " 3.13 - 3.15), is seen whole.";
        }
        return "Exact level: every small-object allocation and release is probed. Surviving figures are at least"
                + " those whose release the probes saw; a block released through a path not probed stays counted.";
    }

    /**
     * Writes this report as one self-contained HTML page (no network): a flame graph of the surviving bytes by
     * stack, the ranking table of the first {@code top} stacks, and a plot of each first stack's surviving bytes
     * over time. The stream is not closed.
     */
    public void writeHtml(OutputStream out, int top) throws IOException {
        LeakReportPage.write(this, top, out);
    }

    /**
     * One merged stack's surviving memory.
     *
     * @param frames                 innermost first
     * @param survivingBytes         bytes allocated here and not seen released
     * @param survivingCount         their number
     * @param allocations            allocations seen here in all
     * @param allocatedBytes         their bytes
     * @param growthBytesPerSecond   least-squares slope of the surviving bytes over the run
     * @param growingShare           of the snapshot steps where the surviving bytes changed, the share that grew
     * @param suspect                whether its surviving memory grew steadily (a leak suspect)
     * @param survivingBytesOverTime the surviving bytes at each of {@link LeakReport#snapshotSeconds}
     */
    public record StackReport(List<Frame> frames, long survivingBytes, long survivingCount, long allocations,
            long allocatedBytes, double growthBytesPerSecond, double growingShare, boolean suspect,
            long[] survivingBytesOverTime) {

        public StackReport {
            frames = List.copyOf(frames);
        }
    }
}
