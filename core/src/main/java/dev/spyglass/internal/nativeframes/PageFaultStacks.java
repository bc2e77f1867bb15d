package dev.spyglass.internal.nativeframes;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.kernel.UserStackSamples;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * {@link SamplingMode#PAGE_FAULTS}: where resident memory grows, without stopping the target. Each Python
 * thread has a {@code page-faults} perf event ({@link UserStackSamples#pageFaults}) writing the user registers
 * and stack at every {@code period}-th fault; at each tick every record becomes one sample weighing
 * {@code period} pages, its native stack unwound from the snapshot and spliced with the thread's Python stack,
 * as the no-stop native engine does ({@link NativeSplice}).
 *
 * <p>The Python stack is read at the tick, not at the fault (up to one interval earlier). It is taken for the
 * fault's when the thread's previous read showed the same chain of functions (lines aside), the fault fell
 * between the start of that read and the end of this one, and the splicer finds the native stack's evaluation
 * loops consistent with the Python frames: a thread that stayed in one Python function between two ticks, as
 * an allocating loop does. Otherwise the sample has, under {@link Frame#NATIVE_FRAMES_UNKNOWN}, the Python frames
 * of whichever of the two reads around the fault was nearer to it in time. Used from the sampling thread only.
 */
public final class PageFaultStacks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PageFaultStacks.class);
    /** x86-64's base page: one fault maps one (a transparent huge page maps 512, counted as one). */
    public static final long PAGE_BYTES = 4096;
    /** Stack copied per record: 16 KiB, as the no-stop engine copies ({@link NonStopNativeStacks#STACK_BYTES}). */
    static final int STACK_BYTES = 16 * 1024;
    /** 512 KiB ring per thread: 31 records of 16 KiB between two drains. */
    static final int DATA_PAGES = 128;

    private final Target target;
    private final UserStackSamples faults;
    private final NativeSplice splice;
    private final long weightBytes;
    private final Map<Integer, Seen> seen = new HashMap<>();
    /** The threads of this tick's read, their Python stacks read now. */
    private final ListedThreads now = new ListedThreads();
    private long tick;
    // Read by other threads (the session's stats): written by the sampling thread only.
    private volatile long spliced;
    private volatile long unspliced;
    private volatile long unattributed;
    private volatile long lost;

    /** A thread's Python stack (frames and lines) at its last read, and when that read began. */
    private static final class Seen {
        List<Frame> frames = List.of();
        long tick;
        long readStart;
    }

    /**
     * @param period one sample every this many faults of a thread (1 to 2^31)
     * @throws dev.spyglass.AccessDeniedException the kernel refuses perf events on the target
     */
    public PageFaultStacks(Target target, long period) throws SpyglassException {
        this.target = target;
        this.weightBytes = PAGE_BYTES * period;
        this.faults = UserStackSamples.pageFaults(target.pid(), period, STACK_BYTES, DATA_PAGES);
        try {
            faults.check((int) target.pid()); // its main thread: a refusal is said at the first tick
            this.splice = new NativeSplice(target, false);
        } catch (SpyglassException | RuntimeException | Error e) {
            faults.close();
            throw e;
        }
    }

    /**
     * Reads the Python stacks, follows the threads, and gives every fault record written since the last poll to
     * {@code out} as one sample.
     *
     * @param timestampNanos the tick's time since the Unix epoch: a record's time is placed relative to it
     */
    public void poll(long timestampNanos, Consumer<StackSample> out) throws SpyglassException {
        tick++;
        long r0 = System.nanoTime();
        int n = target.readThreads(SamplingMode.WALL);
        long r1 = System.nanoTime();
        long epochOffset = timestampNanos - r0;
        now.list(target, n);
        int count = now.count();
        faults.track(now.tids(), count);
        faults.drainEach((tid, r) -> {
            int at = now.slot(tid);
            ThreadStack python = at < 0 ? null : now.stack(at);
            if (python == null) {
                unattributed++; // its read was torn, or it is no longer listed
                return;
            }
            out.accept(new StackSample(merge(now.record(at), python, r, r0, r1), r.time() + epochOffset,
                    weightBytes));
        });
        lost = faults.lostRecords();
        for (int i = 0; i < count; i++) {
            ThreadStack python = now.stack(i);
            if (python != null) {
                Seen s = seen.computeIfAbsent(now.tid(i), k -> new Seen());
                if (!s.frames.equals(python.frames())) {
                    s.frames = List.copyOf(python.frames());
                }
                s.tick = tick;
                s.readStart = r0;
            }
        }
        if (seen.size() > 2 * count + 16) {
            seen.values().removeIf(s -> s.tick < tick - 1);
        }
    }

    private ThreadStack merge(ThreadRecord t, ThreadStack python, UserStackSamples.Tracked r, long readStart,
            long readEnd) {
        Seen before = seen.get((int) t.nativeThreadId());
        boolean stayed = before != null && before.tick == tick - 1 && sameFunctions(before.frames, python.frames())
                && r.time() > before.readStart && r.time() < readEnd;
        if (stayed && r.usable()) {
            splice.unwind(r.rip(), r.rsp(), r.rbp(), r.stack(), r.rsp());
            if (splice.merge(t, python.frames()) != StackSplicer.Outcome.TORN) {
                spliced++;
                return NativeSplice.withFrames(python, splice.frames());
            }
        }
        unspliced++;
        // The thread moved between the reads: of the two Python stacks around the fault, the one read nearer to
        // it in time (an allocating function that returned just before this read shows in the previous one).
        List<Frame> nearer = before != null && before.tick == tick - 1 && r.time() > before.readStart
                && r.time() < readStart && r.time() - before.readStart < readStart - r.time() ? before.frames
                        : python.frames();
        return NativeSplice.unknown(python, nearer);
    }

    /** The same chain of functions (name, qualified name, file), whatever their lines. */
    static boolean sameFunctions(List<Frame> a, List<Frame> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            Frame x = a.get(i);
            Frame y = b.get(i);
            if (x.kind() != y.kind() || !x.qualifiedName().equals(y.qualifiedName()) || !x.file().equals(y.file())) {
                return false;
            }
        }
        return true;
    }

    /** Samples with native frames spliced in. */
    public long spliced() {
        return spliced;
    }

    /** Samples under {@link Frame#NATIVE_FRAMES_UNKNOWN}. */
    public long unspliced() {
        return unspliced;
    }

    /** Fault records the kernel dropped (a ring full between two ticks): memory not counted. */
    public long lost() {
        return lost;
    }

    @Override
    public void close() {
        LOG.debug("page faults: {} spliced, {} unspliced, {} unattributed, {} records lost", spliced, unspliced,
                unattributed, faults.lostRecords());
        faults.close();
        splice.close();
    }
}
