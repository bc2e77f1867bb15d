package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.Errno;

/**
 * A set of uprobes (entry probes and uretprobes, each at a file offset of an object) placed on every thread
 * followed, through the {@code uprobe} PMU of {@code perf_event_open}: what {@link AllocationUprobes} (leaks)
 * and the function probes of {@code latency} / {@code trace} share. The events of a thread write into one ring
 * (PERF_EVENT_IOC_SET_OUTPUT: per-task events may only share a ring with events of the same task), in the order
 * they fired, so an entry is followed by its own return.
 *
 * <p>The function probes of {@code latency} / {@code trace} take this route only as the fallback (or when asked):
 * by default they use {@link PerCpuUprobes}, which probes every thread from its start but places the breakpoint in
 * every process mapping the object (every Python of the machine for a probe in libpython); the leak tracker stays on
 * this route. Why one event per thread rather than one per process: a per-task perf event follows that task only;
 * the {@code inherit} flag reaches only threads created after it, and the kernel refuses to map the ring of an
 * inherited per-task event (perf_mmap: EINVAL).
 * Inherited events opened per task and per CPU (mappable) break the target instead: the kernel makes a new
 * thread's copy of a PMU uprobe by reading the path again from {@code config1}, a pointer into this JVM, in the
 * context of the thread calling {@code clone}, so every thread creation of the target fails with {@code EFAULT}
 * (tried on Linux 6.18). So the caller lists the threads regularly ({@link #track}); a thread started between two
 * lists is probed from the next one.
 *
 * <p>A PMU uprobe lives as long as its descriptor: closing the events (or the JVM dying, which closes them)
 * removes the breakpoints from the target; nothing is written to {@code uprobe_events}. Each hit traps into
 * the kernel (a few µs), which is the cost the target pays.
 *
 * <p>Record layout (PERF_RECORD_SAMPLE, sample type IDENTIFIER | TID | TIME | REGS_USER [| STACK_USER]):
 * {@code header(8) | id | pid u32, tid u32 | time | abi | regs AX CX DX SI DI BP SP IP R8 | [size, data[size],
 * dyn_size]}.
 */
public final class UprobeSet implements Uprobes {
    private static final Logger LOG = LoggerFactory.getLogger(UprobeSet.class);
    /**
     * AX(0), CX(2), DX(3), SI(4), DI(5), BP(6), SP(7), IP(8), R8(16), in that order in a record: CX and R8 are
     * the fourth and fifth arguments ({@code mmap}'s flags and descriptor).
     */
    static final long REGS = 1L | (1L << 2) | (1L << 3) | (1L << 4) | (1L << 5) | (1L << 6) | (1L << 7) | (1L << 8)
            | (1L << 16);
    static final int NREGS = 9;
    /** perf_event_attr flags bit 0: created disabled. */
    static final long DISABLED = 1;
    /** {@code PERF_EVENT_IOC_ENABLE}: {@code _IO('$', 0)}. */
    static final long IOC_ENABLE = 0x2400;

    /**
     * One probe: {@code offset} is a file offset in {@code objectPath} (as this process can open it);
     * {@code onReturn} makes it a uretprobe; {@code stackBytes} of user stack copied at each hit (0: none).
     */
    public record Probe(String objectPath, long offset, boolean onReturn, int stackBytes) {
        public Probe {
            if (stackBytes < 0 || (stackBytes & 7) != 0 || stackBytes > 65_000) {
                throw new IllegalArgumentException("stack " + stackBytes);
            }
        }
    }

    /** Receives each record of {@link #drain}; {@code stack} is valid during the call only. */
    @FunctionalInterface
    public interface Visitor {
        void record(int probe, int tid, long time, long ax, long dx, long si, long di, long bp, long sp, long ip,
                MemorySegment stack);
    }

    /** As {@link Visitor}, with the fourth and fifth argument registers too. */
    @FunctionalInterface
    public interface WideVisitor {
        void record(int probe, int tid, long time, long ax, long cx, long dx, long si, long di, long r8, long bp,
                long sp, long ip, MemorySegment stack);
    }

    private final long pid;
    private final int pmuType;
    private final int dataPages;
    private final String need;
    private final String instead;
    private final Probe[] probes;
    private final Arena arena = Arena.ofShared();
    private final PerfSyscalls sys = new PerfSyscalls();
    private final MemorySegment[] attrs;
    private final MemorySegment id;
    private final MemorySegment stackCopy;
    private final FollowedThreads<Ring> threads = new FollowedThreads<>(r -> r.lost);
    private final EventCloser closer = new EventCloser("spyglass-uprobe-close");
    private final int[] errno = new int[1];
    private final boolean[] closedProbes;
    private long lost;
    private boolean closed;

    private static final class Ring {
        final int[] fds;
        final long[] ids;
        MemorySegment map;
        PerfRingData data;
        long lost;

        Ring(int n) {
            fds = new int[n];
            ids = new long[n];
        }
    }

    /**
     * @param need    who needs the probes, for messages ("Allocation tracking")
     * @param instead what to do without them, for messages ("record --mode memory needs no perf events")
     * @throws SpyglassException this kernel has no uprobe PMU
     */
    public UprobeSet(long pid, List<Probe> probes, int dataPages, String need, String instead)
            throws SpyglassException {
        if (probes.isEmpty() || Integer.bitCount(dataPages) != 1) {
            throw new IllegalArgumentException(probes.size() + " probes, pages " + dataPages);
        }
        this.pid = pid;
        this.dataPages = dataPages;
        this.need = need;
        this.instead = instead;
        this.probes = probes.toArray(new Probe[0]);
        this.closedProbes = new boolean[this.probes.length];
        this.pmuType = pmuType(need);
        int retBit = retprobeBit();
        this.attrs = new MemorySegment[this.probes.length];
        int maxStack = 8;
        for (int i = 0; i < attrs.length; i++) {
            Probe p = this.probes[i];
            attrs[i] = attr(arena, pmuType, arena.allocateFrom(p.objectPath()), p.offset(),
                    p.onReturn() ? 1L << retBit : 0, p.stackBytes());
            maxStack = Math.max(maxStack, p.stackBytes());
        }
        this.id = arena.allocate(ValueLayout.JAVA_LONG);
        this.stackCopy = arena.allocate(maxStack, 8);
    }

    static int pmuType(String need) throws SpyglassException {
        String t = read("/sys/bus/event_source/devices/uprobe/type");
        if (t == null) {
            throw new SpyglassException("this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe/type is"
                    + " missing: CONFIG_UPROBE_EVENTS, Linux 4.17+): " + need + " needs it");
        }
        return Integer.parseInt(t);
    }

    /** The retprobe bit of config, from the PMU's format ("config:0"). */
    static int retprobeBit() {
        String f = read("/sys/bus/event_source/devices/uprobe/format/retprobe");
        if (f != null && f.startsWith("config:")) {
            try {
                return Integer.parseInt(f.substring(7).trim());
            } catch (NumberFormatException e) {
                // fall through to the bit every kernel so far has used
            }
        }
        return 0;
    }

    /** The {@code perf_event_attr} of one uprobe of the uprobe PMU {@code pmuType}, created disabled. */
    static MemorySegment attr(Arena arena, int pmuType, MemorySegment path, long offset, long config, int stack) {
        MemorySegment a = arena.allocate(UserStackSamples.ATTR_SIZE, 8);
        a.set(ValueLayout.JAVA_INT, 0, pmuType);
        a.set(ValueLayout.JAVA_INT, 4, UserStackSamples.ATTR_SIZE);
        a.set(ValueLayout.JAVA_LONG, 8, config);
        a.set(ValueLayout.JAVA_LONG, 16, 1); // sample_period: every hit (each costs its trap whatever the period)
        long type = UserStackSamples.PERF_SAMPLE_IDENTIFIER | UserStackSamples.PERF_SAMPLE_TID
                | UserStackSamples.PERF_SAMPLE_TIME | UserStackSamples.PERF_SAMPLE_REGS_USER;
        if (stack > 0) {
            type |= UserStackSamples.PERF_SAMPLE_STACK_USER;
        }
        a.set(ValueLayout.JAVA_LONG, 24, type);
        // Created disabled, enabled once its ring is set up (see open): a hit before would be lost.
        a.set(ValueLayout.JAVA_LONG, 40, UserStackSamples.USE_CLOCKID | DISABLED);
        a.set(ValueLayout.JAVA_LONG, 56, path.address()); // config1: uprobe_path
        a.set(ValueLayout.JAVA_LONG, 64, offset); // config2: probe_offset
        a.set(ValueLayout.JAVA_LONG, 80, REGS);
        a.set(ValueLayout.JAVA_INT, 88, stack);
        a.set(ValueLayout.JAVA_INT, 92, UserStackSamples.CLOCK_MONOTONIC);
        return a;
    }

    /** Opens the first probe on thread {@code tid} and closes it again, so a refusal is known before any thread is followed. */
    public void check(int tid) throws SpyglassException { // a disabled event: no hit while it exists
        int fd = sys.perfEventOpen(attrs[0], tid);
        if (fd < 0) {
            throw refusal(tid, -fd);
        }
        sys.close(fd);
    }

    private SpyglassException refusal(int tid, int e) {
        if (e == Errno.EACCES || e == Errno.EPERM) {
            long caps = PerfAccess.effectiveCapabilities();
            boolean capable = caps >= 0 && (((caps >>> PerfAccess.CAP_PERFMON) & 1) != 0
                    || ((caps >>> PerfAccess.CAP_SYS_ADMIN) & 1) != 0);
            if (capable) { // then it is the ptrace rules, a security module or seccomp: said by explainOpen
                return new AccessDeniedException(PerfAccess.explainOpen(pid, tid, e, "place uprobes (perf events) in",
                        need + " needs uprobes", instead));
            }
            // The uprobe PMU asks for CAP_PERFMON itself (perf_uprobe_event_init), whatever perf_event_paranoid says.
            return new AccessDeniedException("the kernel refused to place uprobes (perf events) in process " + pid
                    + " (perf_event_open for thread " + tid + ": " + PerfSyscalls.errnoName(e) + "). " + need
                    + " needs the uprobe PMU, open only to root or a process with CAP_PERFMON (Linux 5.8+;"
                    + " CAP_SYS_ADMIN before), whatever kernel.perf_event_paranoid says. Run as root or grant"
                    + " CAP_PERFMON (containers: --cap-add PERFMON); " + instead + ".");
        }
        return new SpyglassException("cannot place a uprobe on thread " + tid + " of process " + pid
                + ": perf_event_open failed with " + PerfSyscalls.errnoName(e));
    }

    /** Follows exactly {@code tids[0..count)}: probes on new threads, closed on threads no longer listed. */
    @Override
    public void track(int[] tids, int count) throws SpyglassException {
        ensureOpen();
        threads.track(tids, count, this::open, this::release);
    }

    private Ring open(int tid) throws SpyglassException {
        int n = probes.length;
        Ring r = new Ring(n);
        for (int k = 0; k < n; k++) {
            if (closedProbes[k]) {
                r.fds[k] = -1; // closed by closeProbe: not opened on new threads either
                r.ids[k] = -1;
                continue;
            }
            int fd = sys.perfEventOpen(attrs[k], tid);
            if (fd < 0) {
                for (int j = 0; j < k; j++) {
                    if (r.fds[j] >= 0) {
                        sys.close(r.fds[j]);
                    }
                }
                if (-fd == Errno.ESRCH) {
                    return null; // exited since it was listed
                }
                if (-fd == PerfSyscalls.EMFILE || -fd == PerfSyscalls.ENFILE) {
                    LOG.warn("{}: no file descriptor left for thread {} of process {}: its probes do not fire", need,
                            tid, pid);
                    return null;
                }
                throw refusal(tid, -fd);
            }
            r.fds[k] = fd;
        }
        r.map = sys.mmap(r.fds[0], (1 + dataPages) * UserStackSamples.PAGE_SIZE, errno);
        if (r.map == null) {
            for (int fd : r.fds) {
                if (fd >= 0) {
                    sys.close(fd);
                }
            }
            throw new SpyglassException("cannot map the perf ring of thread " + tid + " of process " + pid + ": "
                    + PerfAccess.explainMmap(pid, errno[0]));
        }
        for (int k = 0; k < n; k++) {
            if (r.fds[k] < 0) {
                continue;
            }
            int res = k == 0 ? 0 : sys.ioctl(r.fds[k], PerfSyscalls.IOC_SET_OUTPUT, r.fds[0]);
            int res2 = res < 0 ? res : sys.ioctl(r.fds[k], UserStackSamples.IOC_ID, id.address());
            if (res < 0 || res2 < 0) {
                release(r);
                throw new SpyglassException("cannot set up the uprobes of thread " + tid + " of process " + pid
                        + ": ioctl failed with " + PerfSyscalls.errnoName(-(res < 0 ? res : res2)));
            }
            r.ids[k] = id.get(ValueLayout.JAVA_LONG, 0);
        }
        // Only now that every event writes into the ring: the return probes first, so that an entry seen always
        // has its return probe in place (a uretprobe takes over the return address at the entry breakpoint; a
        // call entered before it returns unseen), and no record goes to an event without a ring. The entry probes
        // last to first: when the first probe fires (trace's trigger), all the others are in place, so a call of it
        // seen is seen whole (enabled first to last, the trigger's entry was seen while the probe of a function it
        // then called was not enabled yet: caught by FunctionProbesTest on 3.9).
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < n; i++) {
                int k = pass == 0 ? i : n - 1 - i;
                if (probes[k].onReturn() == (pass == 0) && r.fds[k] >= 0) {
                    int res = sys.ioctl(r.fds[k], IOC_ENABLE, 0);
                    if (res < 0) {
                        release(r);
                        throw new SpyglassException("cannot enable the uprobes of thread " + tid + " of process " + pid
                                + ": ioctl failed with " + PerfSyscalls.errnoName(-res));
                    }
                }
            }
        }
        r.data = new PerfRingData(r.map, UserStackSamples.PAGE_SIZE);
        return r;
    }

    /** Unmaps the ring now; its events are closed by {@link #closer} (a close waits for the kernel: see there). */
    private void release(Ring r) {
        sys.munmap(r.map);
        closer.closeLater(r.fds);
    }

    /**
     * Closes probe {@code k}'s event on every thread followed, and opens it on no thread followed later. Only probe
     * 0's event owns each thread's ring; the others write into it (PERF_EVENT_IOC_SET_OUTPUT).
     */
    @Override
    public void closeProbe(int k) {
        ensureOpen();
        if (k <= 0 || k >= probes.length) {
            throw new IllegalArgumentException("probe " + k + " of " + probes.length + " (probe 0 owns the rings)");
        }
        closedProbes[k] = true;
        int[] fds = new int[threads.size()];
        for (int i = 0; i < fds.length; i++) {
            Ring r = threads.at(i);
            fds[i] = r.fds[k];
            r.fds[k] = -1;
        }
        closer.closeLater(fds); // not waited for: see Uprobes.closeProbe
    }

    /** Gives every record written since the last drain, thread by thread, to {@code visitor}. */
    @Override
    public void drain(Visitor visitor) {
        drainWide((probe, tid, time, ax, cx, dx, si, di, r8, bp, sp, ip, stack) -> visitor.record(probe, tid, time,
                ax, dx, si, di, bp, sp, ip, stack));
    }

    /** As {@link #drain}, with the fourth and fifth argument registers. */
    public void drainWide(WideVisitor visitor) {
        ensureOpen();
        for (int i = 0, n = threads.size(); i < n; i++) {
            drain(threads.at(i), visitor);
        }
    }

    private void drain(Ring r, WideVisitor v) {
        PerfRingData d = r.data;
        long head = d.head();
        while (d.tail < head) {
            long header = d.at(d.tail);
            int type = (int) header;
            int size = (int) (header >>> 48);
            if (size < 8 || (size & 7) != 0 || size > head - d.tail) {
                d.tail = head; // cannot happen with a sane kernel: skip rather than misparse
                r.lost++;
                break;
            }
            int base = 8 + 8 + 8 + 8 + 8 + NREGS * 8;
            if (type == UserStackRing.PERF_RECORD_SAMPLE && size >= base) {
                long p = d.tail;
                long eid = d.at(p + 8);
                int tid = (int) (d.at(p + 16) >>> 32);
                long time = d.at(p + 24);
                int probe = -1;
                for (int k = 0; k < r.ids.length; k++) {
                    if (eid == r.ids[k]) {
                        probe = k;
                    }
                }
                long abi = d.at(p + 32);
                if (probe >= 0 && abi != 0) {
                    long q = p + 40;
                    long copied = 0;
                    int stackBytes = probes[probe].stackBytes();
                    if (stackBytes > 0 && size >= base + 8) {
                        long asked = d.at(p + base);
                        long dyn = asked > 0 && size >= base + 16 + asked ? d.at(p + base + 8 + asked) : 0;
                        copied = Math.min(Math.min(dyn, asked), stackBytes);
                        d.copy(p + base + 8, stackCopy, copied);
                    }
                    v.record(probe, tid, time, d.at(q), d.at(q + 8), d.at(q + 16), d.at(q + 24), d.at(q + 32),
                            d.at(q + 64), d.at(q + 40), d.at(q + 48), d.at(q + 56), stackCopy.asSlice(0, copied));
                }
            } else if (type == UserStackRing.PERF_RECORD_LOST && size >= 24) {
                r.lost += d.at(d.tail + 16);
            }
            d.tail += size;
        }
        d.release();
    }

    /** Records the kernel dropped because a ring was full, over all threads followed so far. */
    @Override
    public long lostRecords() {
        lost = threads.lost();
        return lost;
    }

    /** How many threads carry probes. */
    public int trackedThreads() {
        return threads.size();
    }

    @Override
    public boolean perCpu() {
        return false;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
    }

    static String read(String file) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Closes every probe (the kernel removes the breakpoints with the last descriptor) and unmaps every ring. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        threads.clear(this::release);
        closer.await(120);
        BreakpointsOut.await(pid, java.util.Arrays.asList(probes));
        LOG.debug("uprobes of process {} ({}) closed, {} records lost", pid, need, lost);
        sys.close();
        arena.close();
    }
}
