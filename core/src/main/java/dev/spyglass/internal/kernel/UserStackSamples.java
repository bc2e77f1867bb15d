package dev.spyglass.internal.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.Errno;

/**
 * Snapshots of other threads' user registers and stacks, taken by the kernel without stopping them
 * ({@code perf_event_open(2)}, x86-64): per thread two software events sharing one ring buffer
 * ({@code PERF_EVENT_IOC_SET_OUTPUT} works between events of one task), both recording
 * {@code PERF_SAMPLE_IDENTIFIER | TID | TIME | REGS_USER | STACK_USER} with {@code rbp, rsp, rip} and
 * {@code stackBytes} of stack from {@code rsp}, on {@code CLOCK_MONOTONIC} (comparable with
 * {@link System#nanoTime()}):
 * <ul>
 * <li>{@code PERF_COUNT_SW_CPU_CLOCK}, one sample per interval of the thread's CPU time (running threads);
 * <li>{@code PERF_COUNT_SW_CONTEXT_SWITCHES} with period 1: a sample each time the thread leaves its CPU
 * (it blocks, or is preempted), so a thread that sleeps has a snapshot of where it went to sleep.
 * </ul>
 * Kernel-mode samples are needed (a context switch happens in the kernel; a thread in a system call has
 * its user registers saved), so the events need {@code kernel.perf_event_paranoid} ≤ 1, {@code CAP_PERFMON}
 * or root. The clock event's count is also read at each tick ({@link #readCpuTimes}): a count that did not
 * change between two reads proves the thread did not run between them.
 *
 * <p>Not thread-safe: one thread (the sampler's) calls every method.
 */
public final class UserStackSamples implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UserStackSamples.class);
    static final long PAGE_SIZE = 4096; // x86-64
    /** Data pages per thread: 128 KiB holds 7 records of a 16 KiB stack copy. */
    static final int DATA_PAGES = 32;

    static final int PERF_TYPE_SOFTWARE = 1;
    static final int PERF_COUNT_SW_CPU_CLOCK = 0;
    static final int PERF_COUNT_SW_CONTEXT_SWITCHES = 3;
    static final int PERF_COUNT_SW_PAGE_FAULTS = 2;
    static final long PERF_SAMPLE_TID = 1L << 1;
    static final long PERF_SAMPLE_TIME = 1L << 2;
    static final long PERF_SAMPLE_REGS_USER = 1L << 12;
    static final long PERF_SAMPLE_STACK_USER = 1L << 13;
    static final long PERF_SAMPLE_IDENTIFIER = 1L << 16;
    static final long EXCLUDE_HV = 1L << 6;
    static final long USE_CLOCKID = 1L << 25;
    static final int CLOCK_MONOTONIC = 1;
    /** perf_regs.h (x86): PERF_REG_X86_BP = 6, SP = 7, IP = 8; recorded in this bit order. */
    static final long REGS_MASK = (1L << 6) | (1L << 7) | (1L << 8);
    /** {@code PERF_EVENT_IOC_ID}: {@code _IOR('$', 7, __u64 *)}. */
    static final long IOC_ID = 0x80082407L;
    static final int ATTR_SIZE = 128;

    private final long pid;
    private final int stackBytes;
    private final int dataPages;
    private final PerfSyscalls sys = new PerfSyscalls();
    private final Arena arena = Arena.ofShared();
    /** The sampling event: the CPU clock, or page faults ({@link #pageFaults}). */
    private final MemorySegment clockAttr;
    /** The context-switch event sharing the ring; null for page faults. */
    private final MemorySegment switchAttr;
    private final MemorySegment id;
    private final FollowedThreads<Tracked> threads = new FollowedThreads<>(t -> t.ring.lost,
            t -> t.ring.samples + t.ring.lost);
    private final int[] errno = new int[1];
    /** No descriptor or locked memory left: no more threads are followed (said once). */
    private boolean outOfDescriptors;
    private boolean closed;

    /** One followed thread: its events, ring and snapshot. */
    public static final class Tracked {
        final int tid;
        final UserStackRing ring;
        final Arena arena;

        Tracked(int tid, UserStackRing ring, Arena arena) {
            this.tid = tid;
            this.ring = ring;
            this.arena = arena;
        }

        /** The snapshot's time (CLOCK_MONOTONIC), or {@link Long#MIN_VALUE} before the first. */
        public long time() {
            return ring.time;
        }

        /** Whether the snapshot was taken as the thread left its CPU (a context switch). */
        public boolean switchOut() {
            return ring.switchOut;
        }

        /** Whether the snapshot has user registers and stack bytes. */
        public boolean usable() {
            return ring.usable;
        }

        /** Whether records newer than the snapshot may have been dropped (the ring was full). */
        public boolean lostSince() {
            return ring.lostSince;
        }

        public long rip() {
            return ring.rip;
        }

        public long rsp() {
            return ring.rsp;
        }

        public long rbp() {
            return ring.rbp;
        }

        /** The stack bytes copied from {@link #rsp()} up. */
        public MemorySegment stack() {
            return ring.stack.asSlice(0, ring.stackLength);
        }

        /** The thread's CPU time at the last {@link UserStackSamples#readCpuTimes}, and at the one before; -1: unknown. */
        public long cpuNow() {
            return ring.cpuNow;
        }

        public long cpuBefore() {
            return ring.cpuBefore;
        }

        /** When the read before the last began ({@link System#nanoTime()}), or {@link Long#MIN_VALUE}. */
        public long cpuReadNanosBefore() {
            return ring.cpuReadNanosBefore;
        }
    }

    /**
     * @param pid           the process (for messages)
     * @param intervalNanos one clock sample per this much CPU time of a thread
     * @param stackBytes    stack copied per sample, a multiple of 8 up to 65,000
     */
    public UserStackSamples(long pid, long intervalNanos, int stackBytes) {
        this(pid, PERF_COUNT_SW_CPU_CLOCK, intervalNanos, true, stackBytes, DATA_PAGES);
    }

    private UserStackSamples(long pid, int config, long period, boolean switches, int stackBytes, int dataPages) {
        if (period <= 0 || stackBytes <= 0 || (stackBytes & 7) != 0 || stackBytes > 65_000
                || Integer.bitCount(dataPages) != 1) {
            throw new IllegalArgumentException("period " + period + ", stack " + stackBytes + ", pages " + dataPages);
        }
        this.pid = pid;
        this.stackBytes = stackBytes;
        this.dataPages = dataPages;
        this.clockAttr = attr(arena, config, period, stackBytes);
        this.switchAttr = switches ? attr(arena, PERF_COUNT_SW_CONTEXT_SWITCHES, 1, stackBytes) : null;
        this.id = arena.allocate(ValueLayout.JAVA_LONG);
    }

    /**
     * Snapshots at page faults instead: one {@code PERF_COUNT_SW_PAGE_FAULTS} event per thread, one record for
     * every {@code period}-th fault of the thread (minor and major: a first touch of fresh memory, a file page
     * mapped in, a copy on write), with the user registers and stack at the fault, also when the kernel took
     * it on the thread's behalf (a {@code read} into a fresh buffer). Read every record with {@link #drainEach}.
     *
     * @param dataPages data pages of each thread's ring, a power of two: records written between two drains
     *                  beyond what it holds are lost (counted in {@link #lostRecords()})
     */
    public static UserStackSamples pageFaults(long pid, long period, int stackBytes, int dataPages) {
        return new UserStackSamples(pid, PERF_COUNT_SW_PAGE_FAULTS, period, false, stackBytes, dataPages);
    }

    /** A {@code perf_event_attr} (offsets checked against linux/perf_event.h, 6.18). */
    static MemorySegment attr(Arena arena, int config, long period, int stackBytes) {
        MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
        attr.set(ValueLayout.JAVA_INT, 0, PERF_TYPE_SOFTWARE);
        attr.set(ValueLayout.JAVA_INT, 4, ATTR_SIZE);
        attr.set(ValueLayout.JAVA_LONG, 8, config);
        attr.set(ValueLayout.JAVA_LONG, 16, period); // sample_period (freq = 0)
        attr.set(ValueLayout.JAVA_LONG, 24, PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME
                | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER);
        attr.set(ValueLayout.JAVA_LONG, 40, EXCLUDE_HV | USE_CLOCKID); // flag bits
        attr.set(ValueLayout.JAVA_LONG, 80, REGS_MASK); // sample_regs_user
        attr.set(ValueLayout.JAVA_INT, 88, stackBytes); // sample_stack_user
        attr.set(ValueLayout.JAVA_INT, 92, CLOCK_MONOTONIC); // clockid
        return attr;
    }

    /**
     * Why this process may not take these snapshots, with what would allow it; null when it may. Tried on
     * a thread of this process itself, so it is known before any target is attached or launched.
     */
    public static String refusal() {
        return refusal(PERF_COUNT_SW_CONTEXT_SWITCHES, NEED, INSTEAD);
    }

    /** As {@link #refusal()}, for the snapshots at page faults of {@link #pageFaults}. */
    public static String pageFaultRefusal() {
        return refusal(PERF_COUNT_SW_PAGE_FAULTS, "Page-fault sampling needs page-fault events with kernel sampling",
                "or use the memory (RSS) mode, which needs no perf events");
    }

    private static String refusal(int config, String need, String instead) {
        try (PerfSyscalls s = new PerfSyscalls(); Arena a = Arena.ofConfined()) {
            int fd = s.perfEventOpen(attr(a, config, 1, 8), 0);
            if (fd >= 0) {
                s.close(fd);
                return null;
            }
            int e = -fd;
            if (e == Errno.EACCES || e == Errno.EPERM) {
                // Tried on this JVM's calling thread (tid 0 to perf_event_open): said so, not to be taken for the target.
                return PerfAccess.explainOpen(ProcessHandle.current().pid(), 0, e,
                        "take user-stack snapshots (perf events), tried on this JVM's own", need, instead);
            }
            return "perf_event_open failed with " + PerfSyscalls.errnoName(e) + " (" + need + ", x86-64)";
        }
    }

    private static final String NEED = "Native frames without stopping need context-switch snapshots, kernel sampling";
    private static final String INSTEAD = "or use the brief-stop native engine";

    private String explain(long pid, int tid, int errno) {
        return switchAttr != null
                ? PerfAccess.explainOpen(pid, tid, errno, "take user-stack snapshots (perf events) of", NEED, INSTEAD)
                : PerfAccess.explainOpen(pid, tid, errno, "sample the page faults (perf events) of",
                        "Page-fault sampling needs page-fault events with kernel sampling",
                        "or use the memory (RSS) mode, which needs no perf events");
    }

    /**
     * Follows {@code tids[0..count)}: opens the events of threads not yet followed, closes those of
     * threads no longer listed. A thread that exited first is skipped; out of file descriptors, no more
     * threads are added (logged once).
     *
     * @throws AccessDeniedException the kernel refuses the events (the message says which right is missing)
     * @throws SpyglassException     perf events are not usable here (the message names the errno)
     */
    public void track(int[] tids, int count) throws SpyglassException {
        ensureOpen();
        threads.track(tids, count, tid -> outOfDescriptors ? null : open(tid), this::release);
    }

    private Tracked open(int tid) throws SpyglassException {
        int clock = sys.perfEventOpen(clockAttr, tid);
        if (clock < 0) {
            return refused(tid, -clock);
        }
        int sw = switchAttr == null ? -1 : sys.perfEventOpen(switchAttr, tid);
        if (switchAttr != null && sw < 0) {
            sys.close(clock);
            return refused(tid, -sw);
        }
        MemorySegment map = sys.mmap(clock, (1 + dataPages) * PAGE_SIZE, errno);
        if (map == null) {
            closeIfOpen(sw);
            sys.close(clock);
            int e = errno[0];
            if (e == Errno.EPERM && threads.size() > 0) {
                // The locked-memory allowance (perf_event_mlock_kb, then RLIMIT_MEMLOCK) is used up by the rings
                // of the threads already followed: those keep their snapshots, the others go without.
                outOfDescriptors = true;
                LOG.warn("Native frames: {} after {} threads of process {}; further threads show <native frames unknown>",
                        PerfAccess.explainMmap(pid, e), threads.size(), pid);
                return null;
            }
            if (e == Errno.EPERM) {
                throw new AccessDeniedException(PerfAccess.explainMmap(pid, e));
            }
            throw new SpyglassException("cannot map the perf ring buffer of thread " + tid + " of process " + pid
                    + ": mmap failed with " + PerfSyscalls.errnoName(e));
        }
        // The ring must exist before another event is redirected into it (perf_event_set_output wants the
        // output event's ring buffer mapped).
        int r = sw < 0 ? 0 : sys.ioctl(sw, PerfSyscalls.IOC_SET_OUTPUT, clock);
        int r2 = r < 0 || sw < 0 ? r : sys.ioctl(sw, IOC_ID, id.address());
        if (r < 0 || r2 < 0) {
            sys.munmap(map);
            closeIfOpen(sw);
            sys.close(clock);
            throw new SpyglassException("cannot set up the perf events of thread " + tid + " of process " + pid
                    + ": ioctl failed with " + PerfSyscalls.errnoName(-(r < 0 ? r : r2)));
        }
        long switchId = sw < 0 ? -1 : id.get(ValueLayout.JAVA_LONG, 0);
        Arena a = Arena.ofShared(); // closed by whichever thread closes the session
        return new Tracked(tid, new UserStackRing(clock, sw, switchId, map, PAGE_SIZE, stackBytes, a), a);
    }

    private Tracked refused(int tid, int e) throws SpyglassException {
        switch (e) {
            case Errno.ESRCH:
                return null; // exited since it was listed
            case PerfSyscalls.EMFILE, PerfSyscalls.ENFILE:
                outOfDescriptors = true;
                LOG.warn("Native frames: no file descriptor left for a perf event ({}) after {} threads of process {};"
                        + " further threads show <native frames unknown>", PerfSyscalls.errnoName(e), threads.size(), pid);
                return null;
            case Errno.EACCES, Errno.EPERM:
                throw new AccessDeniedException(explain(pid, tid, e));
            default:
                throw new SpyglassException("cannot open a perf event for thread " + tid + " of process " + pid
                        + " (native frames without stopping): perf_event_open failed with " + PerfSyscalls.errnoName(e));
        }
    }

    private void closeIfOpen(int fd) {
        if (fd >= 0) {
            sys.close(fd);
        }
    }

    private void release(Tracked t) {
        sys.munmap(t.ring.map);
        closeIfOpen(t.ring.switchFd);
        sys.close(t.ring.clockFd);
        t.arena.close();
    }

    /** Reads every followed thread's CPU time (its clock event's count), keeping the previous read. */
    public void readCpuTimes() {
        ensureOpen();
        for (int i = 0, n = threads.size(); i < n; i++) {
            UserStackRing r = threads.at(i).ring;
            r.cpuBefore = r.cpuNow;
            r.cpuReadNanosBefore = r.cpuReadNanos;
            r.cpuReadNanos = System.nanoTime();
            r.cpuNow = sys.readCount(r.clockFd);
        }
    }

    /** Thread {@code tid}'s CPU time now (its clock event's count, read again), or -1 when it is not followed. */
    public long readCpuTime(int tid) {
        ensureOpen();
        Tracked t = threads.get(tid);
        return t == null ? -1 : sys.readCount(t.ring.clockFd);
    }

    /** Reads every followed thread's records; the newest written before {@code beforeNanos} becomes its snapshot. */
    public void drain(long beforeNanos) {
        ensureOpen();
        for (int i = 0, n = threads.size(); i < n; i++) {
            threads.at(i).ring.drain(beforeNanos);
        }
    }

    /** Receives every record of {@link #drainEach}, with its thread's state holding that record. */
    @FunctionalInterface
    public interface RecordVisitor {
        void record(int tid, Tracked record);
    }

    /**
     * Reads every followed thread's records, each in turn becoming the thread's snapshot and given to
     * {@code visitor} (page faults: every record counts, not only the newest).
     */
    public void drainEach(RecordVisitor visitor) {
        ensureOpen();
        for (int i = 0, n = threads.size(); i < n; i++) {
            Tracked t = threads.at(i);
            t.ring.drainEach(() -> visitor.record(t.tid, t));
        }
    }

    /**
     * Opens, then closes, the events for thread {@code tid} of the process: so that a refusal is known at
     * attach rather than at the first tick.
     *
     * @throws AccessDeniedException the kernel refuses (the message says which right is missing)
     */
    public void check(int tid) throws SpyglassException {
        ensureOpen();
        int fd = sys.perfEventOpen(switchAttr != null ? switchAttr : clockAttr, tid);
        if (fd < 0) {
            refused(tid, -fd);
        } else {
            sys.close(fd);
        }
    }

    /**
     * Stops following thread {@code tid} (its events closed, its snapshot forgotten): its TID now names
     * another thread, whose events the next {@link #track} opens. An event follows the task it was opened
     * for, so a reused TID would otherwise show the dead thread's frozen CPU time and last snapshot.
     */
    public void forget(int tid) {
        ensureOpen();
        Tracked t = threads.get(tid);
        if (t == null) {
            return;
        }
        release(t);
        threads.remove(tid);
    }

    /** Thread {@code tid}'s state, or null when it is not followed. Valid until the next {@link #track}. */
    public Tracked thread(int tid) {
        return threads.get(tid);
    }

    /** Records the kernel dropped because a ring was full (PERF_RECORD_LOST), over all threads. */
    public long lostRecords() {
        return threads.lost();
    }

    /**
     * Samples the kernel took of the followed threads so far, each one interrupt on the thread's time: those read
     * (with {@link #drain} or {@link #drainEach}) and those dropped for a full ring.
     */
    public long samplesTaken() {
        return threads.taken();
    }

    /** How many threads are followed. */
    public int trackedThreads() {
        return threads.size();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
    }

    /** Closes every event, unmaps every ring and frees every copy. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        threads.clear(this::release);
        sys.close();
        arena.close();
    }
}
