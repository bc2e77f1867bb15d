package dev.spyglass.internal.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;

/**
 * Uprobes as CPU-wide perf events of the {@code uprobe} PMU ({@code pid = -1}, one event per probe and online
 * CPU): they fire in every thread of the target from its first instruction, so a thread living a few milliseconds
 * is probed, where {@link UprobeSet} (one event per thread, opened 10 - 80 ms after the thread is listed) misses
 * most of them. The events of one CPU write into one ring (PERF_EVENT_IOC_SET_OUTPUT: CPU-wide events may share a
 * ring with events of the same CPU).
 *
 * <p>The price: a CPU-wide uprobe is placed in every process that maps the object, not only the target (the
 * kernel's uprobe filter lets every process through for a CPU-wide perf consumer), so another process running the
 * probed code traps too (a few µs per hit) and its records reach our rings; they are dropped here by the pid the
 * record carries ({@link #otherProcessHits}). A filter in the kernel cannot do it: the trace filter of
 * PERF_EVENT_IOC_SET_FILTER knows {@code common_pid}, which is the thread's id, not its process's.
 *
 * <p>Order: a thread's entry and its return may be written on two CPUs (it migrated in between), into two rings.
 * {@link #drain} merges the rings by the records' time ({@code CLOCK_MONOTONIC}, as {@link System#nanoTime}), and
 * leaves in the rings the records of the last {@value #HOLD_NANOS} ns: a record stamped before the drain began may
 * still be being written on another CPU, and a later record of the same thread must not pass it.
 *
 * <p>A CPU brought online after the probes were placed has no events: a thread running there is not probed until it
 * runs on another CPU (the online CPUs are read once, from {@code /sys/devices/system/cpu/online}).
 *
 * <p>Lifetime: as every PMU uprobe, the events live as long as their descriptors: closing them, or this JVM dying
 * ({@code kill -9} included), removes the breakpoints from every process; nothing is written to tracefs.
 *
 * <p>Record layout (PERF_RECORD_SAMPLE, sample type IDENTIFIER | TID | TIME | REGS_USER):
 * {@code header(8) | id | pid u32, tid u32 | time | abi | regs AX CX DX SI DI BP SP IP R8} (UprobeSet.REGS).
 */
public final class PerCpuUprobes implements Uprobes {
    private static final Logger LOG = LoggerFactory.getLogger(PerCpuUprobes.class);
    /** How recent a record stays in its ring until the next drain: longer than writing one takes. */
    static final long HOLD_NANOS = 2_000_000;
    private static final int BASE = 8 + 8 + 8 + 8 + 8 + UprobeSet.NREGS * 8;
    /**
     * The rings' pages over all CPUs when there are few (8 MiB): a CPU's ring takes the records of every process
     * trapping there, not only the target's; with 512 KiB per CPU, 973 records were lost in 5 s while a bystander
     * ran the probed function ~5,000 times a second beside the target (load 14, docs/performance.md).
     */
    static final int RING_BUDGET_PAGES = 2048;

    private final long pid;
    private final int nprobes;
    /** Where the probes are, to wait for their breakpoints to be out at {@link #close()}. */
    private final List<UprobeSet.Probe> probes;
    private final Arena arena = Arena.ofShared();
    private final PerfSyscalls sys = new PerfSyscalls();
    private final EventCloser closer = new EventCloser("spyglass-uprobe-close");
    private final List<Ring> rings = new ArrayList<>();
    private long lost;
    private long otherProcessHits;
    private boolean closed;

    private static final class Ring {
        final int cpu;
        final int[] fds;
        final long[] ids;
        int opened;
        MemorySegment map;
        PerfRingData data;
        long head;

        Ring(int cpu, int n) {
            this.cpu = cpu;
            fds = new int[n];
            ids = new long[n];
        }
    }

    /**
     * Opens every probe on every online CPU, enabled once all are in place.
     *
     * @param probes    the probes, without stack copies
     * @param dataPages the least pages of each CPU's ring, a power of two (more with few CPUs:
     *                  {@value #RING_BUDGET_PAGES} pages over all)
     * @throws SpyglassException the kernel refused an event, a ring or an ioctl (the message names which and the
     *                           errno); nothing is left open then
     */
    public PerCpuUprobes(long pid, List<UprobeSet.Probe> probes, int dataPages, String need)
            throws SpyglassException {
        if (probes.isEmpty() || Integer.bitCount(dataPages) != 1) {
            throw new IllegalArgumentException(probes.size() + " probes, pages " + dataPages);
        }
        this.pid = pid;
        this.probes = List.copyOf(probes);
        this.nprobes = probes.size();
        int pmuType = UprobeSet.pmuType(need);
        int retBit = UprobeSet.retprobeBit();
        MemorySegment[] attrs = new MemorySegment[nprobes];
        for (int k = 0; k < nprobes; k++) {
            UprobeSet.Probe p = probes.get(k);
            if (p.stackBytes() != 0) {
                throw new IllegalArgumentException("stack copies are per-thread only");
            }
            attrs[k] = UprobeSet.attr(arena, pmuType, arena.allocateFrom(p.objectPath()), p.offset(),
                    p.onReturn() ? 1L << retBit : 0, 0);
        }
        try {
            MemorySegment id = arena.allocate(ValueLayout.JAVA_LONG);
            int[] errno = new int[1];
            int[] cpus = onlineCpus();
            int pages = Math.max(dataPages, Integer.highestOneBit(Math.max(1, RING_BUDGET_PAGES / cpus.length)));
            for (int cpu : cpus) {
                Ring r = new Ring(cpu, nprobes);
                rings.add(r);
                for (int k = 0; k < nprobes; k++) {
                    int fd = sys.perfEventOpen(attrs[k], -1, cpu);
                    if (fd < 0) {
                        throw new SpyglassException("perf_event_open of a CPU-wide uprobe on CPU " + cpu + " failed"
                                + " with " + PerfSyscalls.errnoName(-fd));
                    }
                    r.fds[k] = fd;
                    r.opened = k + 1;
                    int res = k == 0 ? 0 : sys.ioctl(fd, PerfSyscalls.IOC_SET_OUTPUT, r.fds[0]);
                    int res2 = res < 0 ? res : sys.ioctl(fd, UserStackSamples.IOC_ID, id.address());
                    if (res < 0 || res2 < 0) {
                        throw new SpyglassException("cannot set up the CPU-wide uprobes of CPU " + cpu
                                + ": ioctl failed with " + PerfSyscalls.errnoName(-(res < 0 ? res : res2)));
                    }
                    r.ids[k] = id.get(ValueLayout.JAVA_LONG, 0);
                    if (k == 0) {
                        r.map = sys.mmap(fd, (1L + pages) * UserStackSamples.PAGE_SIZE, errno);
                        if (r.map == null) {
                            throw new SpyglassException("cannot map the perf ring of CPU " + cpu + ": "
                                    + PerfAccess.explainMmap(pid, errno[0]));
                        }
                        r.data = new PerfRingData(r.map, UserStackSamples.PAGE_SIZE);
                    }
                }
            }
            // Return probes first, then the entries last to first, on every CPU: an entry seen has its return
            // probe in place, and trace's trigger (the first probe) fires once every other probe does (see
            // UprobeSet.open: the same order per thread).
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < nprobes; i++) {
                    int k = pass == 0 ? i : nprobes - 1 - i;
                    if (probes.get(k).onReturn() == (pass == 0)) {
                        for (Ring r : rings) {
                            int res = sys.ioctl(r.fds[k], UprobeSet.IOC_ENABLE, 0);
                            if (res < 0) {
                                throw new SpyglassException("cannot enable the CPU-wide uprobes of CPU " + r.cpu
                                        + ": ioctl failed with " + PerfSyscalls.errnoName(-res));
                            }
                        }
                    }
                }
            }
        } catch (SpyglassException | RuntimeException | Error e) {
            close();
            throw e;
        }
        LOG.debug("CPU-wide uprobes for process {} on {} CPUs ({} events)", pid, rings.size(), rings.size() * nprobes);
    }

    /** The online CPUs, from {@code /sys/devices/system/cpu/online} ("0-3,6"). */
    static int[] onlineCpus() throws SpyglassException {
        String s = UprobeSet.read("/sys/devices/system/cpu/online");
        if (s == null || s.isEmpty()) {
            throw new SpyglassException("cannot read /sys/devices/system/cpu/online");
        }
        List<Integer> cpus = new ArrayList<>();
        try {
            for (String part : s.split(",")) {
                int dash = part.indexOf('-');
                int from = Integer.parseInt(part.substring(0, dash < 0 ? part.length() : dash).trim());
                int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1).trim());
                if (from < 0 || to < from || to - from > 65_536) {
                    throw new NumberFormatException(part);
                }
                for (int c = from; c <= to; c++) {
                    cpus.add(c);
                }
            }
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            throw new SpyglassException("cannot parse the online CPUs '" + s + "'", e);
        }
        return cpus.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public void track(int[] tids, int count) {
        ensureOpen(); // every thread is probed already
    }

    /**
     * Closes probe {@code k}'s event on every CPU. Possible because only probe 0's event owns each CPU's ring: the
     * others only write into it (PERF_EVENT_IOC_SET_OUTPUT), and closing one leaves the ring and the rest in place.
     */
    @Override
    public void closeProbe(int k) {
        ensureOpen();
        if (k <= 0 || k >= nprobes) {
            throw new IllegalArgumentException("probe " + k + " of " + nprobes + " (probe 0 owns the rings)");
        }
        int[] fds = new int[rings.size()];
        for (int i = 0; i < fds.length; i++) {
            Ring r = rings.get(i);
            fds[i] = k < r.opened ? r.fds[k] : -1;
            r.fds[k] = -1;
        }
        closer.closeLater(fds); // not waited for: see Uprobes.closeProbe
    }

    @Override
    public void drain(UprobeSet.Visitor visitor) {
        ensureOpen();
        long cut = System.nanoTime() - HOLD_NANOS;
        for (Ring r : rings) {
            r.head = r.data.head();
        }
        while (true) {
            Ring next = null;
            long first = cut;
            for (Ring r : rings) {
                long t = nextTime(r);
                if (t < first) {
                    first = t;
                    next = r;
                }
            }
            if (next == null) {
                break;
            }
            deliver(next, visitor);
        }
        for (Ring r : rings) {
            r.data.release();
        }
    }

    /** The time of ring {@code r}'s next sample, after counting the loss records before it; MAX_VALUE if none. */
    private long nextTime(Ring r) {
        PerfRingData d = r.data;
        while (d.tail < r.head) {
            long header = d.at(d.tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > r.head - d.tail) {
                d.tail = r.head; // cannot happen with a sane kernel: skip rather than misparse
                lost++;
                break;
            }
            if (type == UserStackRing.PERF_RECORD_SAMPLE && size >= BASE) {
                return d.at(d.tail + 24);
            }
            if (type == UserStackRing.PERF_RECORD_LOST && size >= 24) {
                lost += d.at(d.tail + 16);
            }
            d.tail += size;
        }
        return Long.MAX_VALUE;
    }

    /** Gives the sample at ring {@code r}'s tail to {@code v} when it is the target's, and steps over it. */
    private void deliver(Ring r, UprobeSet.Visitor v) {
        PerfRingData d = r.data;
        long p = d.tail;
        d.tail += (int) (d.at(p) >>> 48);
        long pidTid = d.at(p + 16);
        if ((int) pidTid != (int) pid) { // the process id: the low half (the kernel writes u32 pid, then u32 tid)
            otherProcessHits++;
            return;
        }
        long eid = d.at(p + 8);
        int probe = -1;
        for (int k = 0; k < nprobes; k++) {
            if (eid == r.ids[k]) {
                probe = k;
            }
        }
        long abi = d.at(p + 32);
        if (probe >= 0 && abi != 0) {
            long q = p + 40; // registers in UprobeSet.REGS order: AX CX DX SI DI BP SP IP R8
            v.record(probe, (int) (pidTid >>> 32), d.at(p + 24), d.at(q), d.at(q + 16), d.at(q + 24), d.at(q + 32),
                    d.at(q + 40), d.at(q + 48), d.at(q + 56), MemorySegment.NULL);
        }
    }

    @Override
    public long lostRecords() {
        return lost;
    }

    /**
     * Hits of the probes in processes other than the target since they were placed (seen in the rings, dropped):
     * each cost that process a trap.
     */
    public long otherProcessHits() {
        return otherProcessHits;
    }

    @Override
    public boolean perCpu() {
        return true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
    }

    /** Closes every event (on a few threads: each close waits for the kernel) and waits until all are closed. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Ring r : rings) {
            if (r.map != null) {
                sys.munmap(r.map);
            }
            closer.closeLater(java.util.Arrays.copyOf(r.fds, r.opened));
        }
        closer.await(120);
        BreakpointsOut.await(pid, probes);
        LOG.debug("CPU-wide uprobes of process {} closed, {} records lost, {} hits of other processes", pid, lost,
                otherProcessHits);
        sys.close();
        arena.close();
    }
}
