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
 * The kernel part of the call stack of another process's running threads, sampled by the kernel with
 * {@code perf_event_open(2)}: one {@code PERF_COUNT_SW_CPU_CLOCK} event per thread ({@code pid = tid},
 * {@code cpu = -1}), its period the sampler's interval, recording {@code PERF_SAMPLE_TID | TIME |
 * CALLCHAIN} with {@code exclude_callchain_user} so only kernel addresses are copied, and timestamps on
 * {@code CLOCK_MONOTONIC} (comparable with {@link System#nanoTime()}).
 *
 * <p>Each thread has its own ring buffer: {@code PERF_EVENT_IOC_SET_OUTPUT} refuses (EINVAL) to share a
 * buffer between events of different tasks that are not bound to one CPU (kernel/events/core.c,
 * perf_event_set_output, "If its not a per-cpu rb, it must be the same task"; checked on 6.18).
 *
 * <p>What the chains look like (Linux 6.18, x86-64, measured): the clock's hrtimer interrupt takes the
 * sample but records the registers it interrupted, so the innermost address is where the thread was
 * (e.g. {@code read_zero} for a read of /dev/zero), never the sampling interrupt's own frames
 * ({@code perf_swevent_hrtimer}, {@code hrtimer_interrupt}): nothing needs stripping. The outermost frame
 * is how the thread entered the kernel: {@code entry_SYSCALL_64_after_hwframe} for a system call
 * ({@code read_zero vfs_read ksys_read do_syscall_64 entry_SYSCALL_64_after_hwframe}), an
 * {@code asm_sysvec_*} / {@code asm_exc_*} stub for an interrupt or exception (~1% of a pure-Python CPU
 * loop's samples: {@code irqentry_exit_to_user_mode asm_sysvec_apic_timer_interrupt}, or softirq work such
 * as {@code rcu_core handle_softirqs __irq_exit_rcu sysvec_apic_timer_interrupt ...}). These are real time
 * the thread spent in the kernel and are kept.
 *
 * <p>The clock only fires while the thread runs on a CPU, so a sleeping thread has no recent sample. A
 * sample taken while the thread ran in user mode has no kernel addresses. Not thread-safe: one thread
 * (the sampler's) calls {@link #track}, {@link #drain} and {@link #kernelIps}.
 */
public final class KernelCallchains implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelCallchains.class);
    /** Kernel frames kept per sample (also the kernel's {@code sample_max_stack}). */
    public static final int MAX_FRAMES = 64;
    static final long PAGE_SIZE = 4096; // x86-64
    /** Data pages per thread: 8 KiB holds ~40 samples of 25 frames, many ticks' worth between drains. */
    static final int DATA_PAGES = 2;

    static final int PERF_TYPE_SOFTWARE = 1;
    static final int PERF_COUNT_SW_CPU_CLOCK = 0;
    static final long PERF_SAMPLE_TID = 1L << 1;
    static final long PERF_SAMPLE_TIME = 1L << 2;
    static final long PERF_SAMPLE_CALLCHAIN = 1L << 5;
    static final long EXCLUDE_HV = 1L << 6;
    static final long EXCLUDE_CALLCHAIN_USER = 1L << 22;
    static final long USE_CLOCKID = 1L << 25;
    static final int CLOCK_MONOTONIC = 1;
    /** {@code PERF_ATTR_SIZE_VER7}: every field up to {@code sig_data}. */
    static final int ATTR_SIZE = 128;

    private final long pid;
    private final PerfSyscalls sys = new PerfSyscalls();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment attr;
    private final FollowedThreads<Tracked> threads = new FollowedThreads<>(t -> t.latest.lost,
            t -> t.latest.samples + t.latest.lost);
    private final int[] errno = new int[1];
    private boolean outOfDescriptors;
    private boolean closed;

    private static final class Tracked {
        final int tid;
        final PerfRing ring;
        final PerfRing.Latest latest = new PerfRing.Latest(MAX_FRAMES);

        Tracked(int tid, PerfRing ring) {
            this.tid = tid;
            this.ring = ring;
        }
    }

    /**
     * @param pid           the process the threads belong to (for messages)
     * @param intervalNanos the sampling interval: one sample per this much CPU time of a thread
     */
    public KernelCallchains(long pid, long intervalNanos) {
        if (intervalNanos <= 0) {
            throw new IllegalArgumentException("interval " + intervalNanos);
        }
        this.pid = pid;
        attr = attr(arena, intervalNanos);
    }

    /**
     * Why this process may not sample kernel stacks, or null when it may: an event like the real ones,
     * opened (and closed) on a thread of this process itself. The kernel applies the same rules
     * ({@code perf_event_paranoid}, capabilities, seccomp) to every process one may trace.
     */
    static String refusal() {
        long self = ProcessHandle.current().pid();
        try (KernelCallchains probe = new KernelCallchains(self, 10_000_000L)) {
            probe.track(new int[] {(int) self}, 1);
            return null;
        } catch (AccessDeniedException e) {
            return e.getMessage().replace("process " + self, "a process");
        } catch (SpyglassException | RuntimeException | LinkageError e) {
            return "perf events are not usable here: " + e.getMessage();
        }
    }

    /** The {@code perf_event_attr} of every event (offsets checked against linux/perf_event.h, 6.18). */
    static MemorySegment attr(Arena arena, long intervalNanos) {
        MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
        attr.set(ValueLayout.JAVA_INT, 0, PERF_TYPE_SOFTWARE);
        attr.set(ValueLayout.JAVA_INT, 4, ATTR_SIZE);
        attr.set(ValueLayout.JAVA_LONG, 8, PERF_COUNT_SW_CPU_CLOCK);
        attr.set(ValueLayout.JAVA_LONG, 16, intervalNanos); // sample_period (freq = 0)
        attr.set(ValueLayout.JAVA_LONG, 24, PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN);
        attr.set(ValueLayout.JAVA_LONG, 40, EXCLUDE_HV | EXCLUDE_CALLCHAIN_USER | USE_CLOCKID); // flag bits
        attr.set(ValueLayout.JAVA_INT, 92, CLOCK_MONOTONIC); // clockid
        attr.set(ValueLayout.JAVA_SHORT, 108, (short) MAX_FRAMES); // sample_max_stack
        return attr;
    }

    /**
     * Follows the process's current threads: opens an event for each of {@code tids[0..count)} not yet
     * followed and closes those of threads no longer listed. A thread that exited before its event was
     * opened is skipped; when this process runs out of file descriptors, no more threads are added
     * (logged once).
     *
     * @throws AccessDeniedException the kernel refuses kernel sampling of this process (the message says
     *                               which right is missing)
     * @throws SpyglassException     perf events are not usable here (the message names the errno)
     */
    public void track(int[] tids, int count) throws SpyglassException {
        ensureOpen();
        threads.track(tids, count, tid -> outOfDescriptors ? null : open(tid), this::release);
    }

    private Tracked open(int tid) throws SpyglassException {
        int fd = sys.perfEventOpen(attr, tid);
        if (fd < 0) {
            int e = -fd;
            switch (e) {
                case Errno.ESRCH:
                    return null; // exited since it was listed
                case PerfSyscalls.EMFILE, PerfSyscalls.ENFILE:
                    outOfDescriptors = true;
                    LOG.warn("Kernel frames: no file descriptor left for a perf event ({}) after {} threads of process {};"
                            + " further threads are sampled without kernel frames", PerfSyscalls.errnoName(e),
                            threads.size(), pid);
                    return null;
                case Errno.EACCES, Errno.EPERM:
                    throw new AccessDeniedException(PerfAccess.explainOpen(pid, tid, e));
                default:
                    throw new SpyglassException("cannot open a perf event for thread " + tid + " of process " + pid
                            + " (kernel frames): perf_event_open failed with " + PerfSyscalls.errnoName(e));
            }
        }
        MemorySegment map = sys.mmap(fd, (1 + DATA_PAGES) * PAGE_SIZE, errno);
        if (map == null) {
            sys.close(fd);
            int e = errno[0];
            if (e == Errno.EPERM) {
                throw new AccessDeniedException(PerfAccess.explainMmap(pid, e));
            }
            throw new SpyglassException("cannot map the perf ring buffer of thread " + tid + " of process " + pid
                    + ": mmap failed with " + PerfSyscalls.errnoName(e));
        }
        return new Tracked(tid, new PerfRing(fd, map, PAGE_SIZE));
    }

    private void release(Tracked t) {
        sys.munmap(t.ring.map);
        sys.close(t.ring.fd);
    }

    /**
     * Reads every followed thread's new samples, keeping per thread only the newest.
     *
     * @return how many records were read
     */
    public int drain() {
        ensureOpen();
        int records = 0;
        for (int i = 0, n = threads.size(); i < n; i++) {
            Tracked t = threads.at(i);
            records += t.ring.drain(t.latest);
        }
        return records;
    }

    /**
     * Copies the kernel addresses (innermost first) of thread {@code tid}'s newest sample into
     * {@code out}, if that sample was taken at or after {@code notBeforeNanos} ({@link System#nanoTime()}
     * time).
     *
     * @return how many addresses were copied: 0 when the thread is not followed, has no sample that recent
     *         (it did not run), or was in user mode then
     */
    public int kernelIps(int tid, long notBeforeNanos, long[] out) {
        Tracked t = threads.get(tid);
        if (t == null || t.latest.time == Long.MIN_VALUE || t.latest.time < notBeforeNanos) {
            return 0;
        }
        int n = Math.min(t.latest.count, out.length);
        System.arraycopy(t.latest.ips, 0, out, 0, n);
        return n;
    }

    /** The {@link System#nanoTime()} time of thread {@code tid}'s newest sample, or {@link Long#MIN_VALUE}. */
    public long latestSampleNanos(int tid) {
        Tracked t = threads.get(tid);
        return t == null ? Long.MIN_VALUE : t.latest.time;
    }

    /** Samples read so far for thread {@code tid}, and how many of them had kernel frames: {total, kernel}. */
    public long[] sampleCounts(int tid) {
        Tracked t = threads.get(tid);
        return t == null ? new long[2] : new long[] {t.latest.samples, t.latest.samplesWithKernel};
    }

    /** Samples the kernel dropped because a ring buffer was full (PERF_RECORD_LOST), over all threads. */
    public long lostSamples() {
        return threads.lost();
    }

    /** Samples the kernel took of the followed threads so far (read by {@link #drain}, and dropped). */
    public long samplesTaken() {
        return threads.taken();
    }

    /** How many threads have an open event. */
    public int trackedThreads() {
        return threads.size();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
    }

    /** Closes every event and unmaps every ring buffer. */
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
