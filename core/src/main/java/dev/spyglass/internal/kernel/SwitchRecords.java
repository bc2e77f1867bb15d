package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.Errno;
import dev.spyglass.internal.os.NsPids;

/**
 * Every context switch of the machine, from one perf event per CPU on the {@code sched:sched_switch} tracepoint
 * ({@code pid = -1, cpu = N}, sample type {@code RAW | TID | TIME}), read from the rings without a system call:
 * which task was switched out (and whether it went to sleep or was preempted) and which was switched in. The
 * stack reader learns from them which threads of the target ran since its previous look, instead of one
 * {@code /proc/PID/task/TID/schedstat} read per thread per look ({@code TaskStates#lookState}).
 *
 * <p>What the records prove, and their limits: the tracepoint fires in {@code __schedule} before the switch, so a
 * thread has been switched in (and its record committed to the ring of that CPU) before it runs an instruction;
 * a thread whose latest record is a switch-out, and that has no switch-in after it, is off every CPU. Records lost
 * (a full ring: {@code PERF_RECORD_LOST}, or a ring found full before that record is written; or a
 * throttled event) make {@link #drain} say so, and then nothing may be
 * concluded from that drain. Not every loss is said: Linux 6.18 here drops a switch now and then with no lost
 * record (a {@code perf record} of the machine shows a task switched out twice in a row), so the readers bound
 * what they conclude ({@code TaskSwitches#switchedOut}, {@code StackReader.MAX_TAKEOVER_NANOS}). CPUs that come online later have no event: opening refuses a machine whose possible
 * CPUs are not all online. Records name tasks by their ids in the initial PID namespace: opening refuses a JVM in
 * another one.
 *
 * <p>Cost: the kernel writes ~100 bytes per switch of the whole machine (about 20,000 switches/s on the loaded
 * 2-core build VM), whatever the target; the drain reads each ring's head and the new records. Needs root or
 * CAP_PERFMON (a per-CPU event; a tracepoint also needs its id from tracefs). Not thread-safe.
 */
public final class SwitchRecords implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchRecords.class);
    static final int PERF_TYPE_TRACEPOINT = 2;
    static final long PERF_SAMPLE_RAW = 1L << 10;
    /** Where tracefs shows the tracepoint: its own mount (Linux 4.1+), or below debugfs. */
    static final List<Path> EVENT_DIRS = List.of(Path.of("/sys/kernel/tracing/events/sched/sched_switch"),
            Path.of("/sys/kernel/debug/tracing/events/sched/sched_switch"));
    /**
     * {@code prev_state} of a preempted task: {@code TASK_REPORT_MAX} ({@code __trace_sched_switch_state}; 0x100
     * since Linux 4.14, 0x80 and 0x800 before). A task that went to sleep has one of the state bits below it.
     */
    static final long SLEEP_STATES = 0xff;
    /** {@code prev_state} bits of a task that exited ({@code X}: EXIT_DEAD, {@code Z}: EXIT_ZOMBIE; Linux 4.14+). */
    static final long EXIT_STATES = 0x10 | 0x20;

    /** Receives each switch of {@link #drain}, in each CPU's order (CPUs one after the other). */
    @FunctionalInterface
    public interface Visitor {
        /**
         * {@code prevTid} was switched out ({@code prevSleeping}: to sleep; else preempted; {@code prevExited}: for
         * good, its TID free for another task) and {@code nextTid} in, at {@code time} (CLOCK_MONOTONIC ns); TID 0
         * is a CPU's idle task.
         */
        void switched(int prevTid, boolean prevSleeping, boolean prevExited, int nextTid, long time);
    }

    private final PerfSyscalls sys;
    private final Arena arena;
    private final int[] fds;
    private final MemorySegment[] maps;
    private final PerfRingData[] rings;
    /** Offsets in a record: after header, pid/tid, time and the raw size come the tracepoint's fields. */
    private final int prevPid;
    private final int prevState;
    private final int nextPid;
    private final int minSize;
    private long records;
    private long lost;
    private long fullDrains;
    /**
     * Free space under which a ring counts as full at a drain: more than the largest record it may hold (a
     * {@code sched_switch} sample is ~100 bytes with its raw fields; a lost or throttle record 24).
     */
    static final int FULL_MARGIN = 512;

    private SwitchRecords(PerfSyscalls sys, Arena arena, int[] fds, MemorySegment[] maps, TracepointFormat f) {
        this.sys = sys;
        this.arena = arena;
        this.fds = fds;
        this.maps = maps;
        this.rings = new PerfRingData[fds.length];
        for (int i = 0; i < fds.length; i++) {
            rings[i] = new PerfRingData(maps[i], UserStackSamples.PAGE_SIZE);
        }
        int raw = 8 + 8 + 8 + 4;
        this.prevPid = raw + f.prevPid;
        this.prevState = raw + f.prevState;
        this.nextPid = raw + f.nextPid;
        this.minSize = raw + Math.max(f.nextPid + 4, Math.max(f.prevPid + 4, f.prevState + 4));
    }

    /** The offsets of the fields read, from the tracepoint's {@code format} file. */
    record TracepointFormat(int id, int prevPid, int prevState, int nextPid) {
        static TracepointFormat parse(int id, List<String> lines) {
            int pp = -1;
            int ps = -1;
            int np = -1;
            for (String line : lines) {
                String l = line.trim();
                if (!l.startsWith("field:")) {
                    continue;
                }
                int semi = l.indexOf(';');
                int at = l.indexOf("offset:");
                if (semi < 0 || at < 0) {
                    continue;
                }
                String decl = l.substring(6, semi);
                String name = decl.substring(decl.lastIndexOf(' ') + 1);
                int offset = Integer.parseInt(l.substring(at + 7, l.indexOf(';', at)));
                switch (name) {
                    case "prev_pid" -> pp = offset;
                    case "prev_state" -> ps = offset;
                    case "next_pid" -> np = offset;
                    default -> {
                    }
                }
            }
            // Read as aligned 4-byte words (prev_state's low half: the state bits); every kernel so far aligns them.
            if (pp < 0 || ps < 0 || np < 0 || ((pp | ps | np) & 3) != 0) {
                throw new IllegalArgumentException("sched_switch format without 4-aligned prev_pid, prev_state,"
                        + " next_pid (" + pp + ", " + ps + ", " + np + ")");
            }
            return new TracepointFormat(id, pp, ps, np);
        }
    }

    /**
     * Opens the events on every CPU, {@code dataPages} (a power of two) of ring each.
     *
     * @throws SpyglassException with the reason they cannot be had (no tracefs, not allowed, CPUs offline...)
     */
    public static SwitchRecords open(int dataPages) throws SpyglassException {
        if (Integer.bitCount(dataPages) != 1) {
            throw new IllegalArgumentException("pages " + dataPages);
        }
        long[] ns = NsPids.of(Path.of("/proc/self/status"));
        if (ns.length > 1) {
            throw new SpyglassException("this JVM is in a PID namespace below the initial one ("
                    + java.util.Arrays.stream(ns).mapToObj(Long::toString)
                            .collect(java.util.stream.Collectors.joining(" "))
                    + "): sched_switch records name tasks by their initial ids");
        }
        String online = UprobeSet.read("/sys/devices/system/cpu/online");
        String possible = UprobeSet.read("/sys/devices/system/cpu/possible");
        if (online == null || !online.equals(possible)) {
            throw new SpyglassException("CPUs " + possible + " possible but " + online + " online: a CPU brought"
                    + " online later would switch threads unseen");
        }
        TracepointFormat format = format();
        List<Integer> cpus = cpus(online);
        PerfSyscalls sys = new PerfSyscalls();
        Arena arena = Arena.ofShared();
        int[] fds = new int[cpus.size()];
        MemorySegment[] maps = new MemorySegment[cpus.size()];
        int opened = 0;
        try {
            MemorySegment attr = arena.allocate(UserStackSamples.ATTR_SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, 0, PERF_TYPE_TRACEPOINT);
            attr.set(ValueLayout.JAVA_INT, 4, UserStackSamples.ATTR_SIZE);
            attr.set(ValueLayout.JAVA_LONG, 8, format.id()); // config: the tracepoint's id
            attr.set(ValueLayout.JAVA_LONG, 16, 1); // sample_period: every switch (never throttled at period 1)
            attr.set(ValueLayout.JAVA_LONG, 24, UserStackSamples.PERF_SAMPLE_TID | UserStackSamples.PERF_SAMPLE_TIME
                    | PERF_SAMPLE_RAW);
            attr.set(ValueLayout.JAVA_LONG, 40, UserStackSamples.USE_CLOCKID);
            attr.set(ValueLayout.JAVA_INT, 92, UserStackSamples.CLOCK_MONOTONIC);
            int[] errno = new int[1];
            for (int i = 0; i < fds.length; i++) {
                int fd = sys.perfEventOpenOnCpu(attr, cpus.get(i));
                if (fd < 0) {
                    throw new SpyglassException("perf_event_open of sched:sched_switch on CPU " + cpus.get(i)
                            + " failed with " + PerfSyscalls.errnoName(-fd) + (-fd == Errno.EACCES || -fd == Errno.EPERM
                                    ? " (per-CPU events need root or CAP_PERFMON)" : ""));
                }
                fds[i] = fd;
                opened++;
                MemorySegment map = sys.mmap(fd, (1 + dataPages) * UserStackSamples.PAGE_SIZE, errno);
                if (map == null) {
                    throw new SpyglassException("cannot map the sched_switch ring of CPU " + cpus.get(i) + ": "
                            + PerfAccess.explainMmap(-1, errno[0]));
                }
                maps[i] = map;
            }
        } catch (SpyglassException | RuntimeException e) {
            for (int i = 0; i < opened; i++) {
                if (maps[i] != null) {
                    sys.munmap(maps[i]);
                }
                sys.close(fds[i]);
            }
            sys.close();
            arena.close();
            throw e;
        }
        SwitchRecords s = new SwitchRecords(sys, arena, fds, maps, format);
        // A switch seen on a CPU whose event was ready, while another CPU's was not yet, may be followed by one
        // there that was not recorded: all that came before the last ring was ready is dropped.
        for (PerfRingData d : s.rings) {
            d.tail = d.head();
            d.release();
        }
        LOG.debug("sched_switch records on {} CPUs ({} pages each, tracepoint {})", fds.length, dataPages, format.id());
        return s;
    }

    private static TracepointFormat format() throws SpyglassException {
        for (Path dir : EVENT_DIRS) {
            try {
                int id = Integer.parseInt(Files.readString(dir.resolve("id")).trim());
                return TracepointFormat.parse(id, Files.readAllLines(dir.resolve("format")));
            } catch (IOException | RuntimeException e) {
                // not mounted there, or not readable: the next place
            }
        }
        throw new SpyglassException("no sched:sched_switch tracepoint readable under " + EVENT_DIRS
                + " (tracefs not mounted: mount -t tracefs nodev /sys/kernel/tracing)");
    }

    static List<Integer> cpus(String list) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : list.split(",")) {
            int dash = part.indexOf('-');
            int from = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
            int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1));
            for (int c = from; c <= to; c++) {
                cpus.add(c);
            }
        }
        return cpus;
    }

    /**
     * Gives every switch recorded since the last drain to {@code visitor}.
     *
     * @return false when records were lost since the last drain (a full ring, a throttled event, a malformed
     *         record): the switches given are then not all that happened
     */
    public boolean drain(Visitor visitor) {
        boolean complete = true;
        for (PerfRingData d : rings) {
            long head = d.head();
            if (head - d.tail > d.dataSize) {
                complete = false; // overwritten: cannot happen in a ring we release, but never read garbage
                d.tail = head;
            }
            if (d.dataSize - (head - d.tail) < FULL_MARGIN) {
                // A full ring drops switches without a mark yet: the kernel counts them and writes their
                // PERF_RECORD_LOST only once there is room again, after this drain released the space. Taking
                // this drain as complete would prove a woken thread idle (seen in CI: a parked thread's stack
                // kept from before its wake, under load, on sid 3.15).
                complete = false;
                fullDrains++;
            }
            while (d.tail < head) {
                long p = d.tail;
                long header = d.at(p);
                int type = (int) header;
                int size = (int) (header >>> 48);
                if (size < 8 || (size & 7) != 0 || size > head - p) {
                    complete = false;
                    lost++;
                    d.tail = head;
                    break;
                }
                if (type == UserStackRing.PERF_RECORD_SAMPLE && size >= minSize) {
                    records++;
                    long time = d.at(p + 16);
                    int prev = int32(d, p + prevPid);
                    long state = int32(d, p + prevState) & 0xffff_ffffL;
                    int next = int32(d, p + nextPid);
                    visitor.switched(prev, (state & SLEEP_STATES) != 0, (state & EXIT_STATES) != 0, next, time);
                } else if (type == UserStackRing.PERF_RECORD_LOST || type == UserStackRing.PERF_RECORD_THROTTLE
                        || type == UserStackRing.PERF_RECORD_SAMPLE) {
                    complete = false;
                    lost += type == UserStackRing.PERF_RECORD_LOST && size >= 24 ? d.at(p + 16) : 1;
                }
                d.tail += size;
            }
            d.release();
        }
        return complete;
    }

    /** The 4-byte word at a 4-aligned position of a ring (records are 8-aligned, so it never wraps apart). */
    private static int int32(PerfRingData d, long position) {
        long word = d.at(position & ~7L);
        return (int) (word >>> ((position & 4) * 8));
    }

    /** Switches read so far. */
    public long records() {
        return records;
    }

    /** Drains that found a ring full (so records may have been dropped that no lost record shows yet). */
    public long fullDrains() {
        return fullDrains;
    }

    /** Records the kernel dropped (or that could not be read) so far. */
    public long lost() {
        return lost;
    }

    public int cpus() {
        return fds.length;
    }

    @Override
    public void close() {
        for (int i = 0; i < fds.length; i++) {
            sys.munmap(maps[i]);
            sys.close(fds[i]);
        }
        LOG.debug("sched_switch records closed: {} read, {} lost", records, lost);
        sys.close();
        arena.close();
    }
}
