package dev.spyglass.internal.nativeframes;

import java.util.Arrays;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * Native frames for one attached process: each look at its threads happens while the threads that
 * run Python code are held stopped ({@link ThreadStops}), so that a thread's registers, native stack
 * and Python stack are of one instant; each thread's native stack is unwound after they resume, and
 * merged with its Python stack ({@link StackSplicer}).
 *
 * <p>Which threads to stop is known from the previous look (their TIDs). When a look finds a thread
 * that was not stopped (the first look, a new thread), the look is taken again at once with it
 * stopped too, so no thread misses a tick for being new. Used from the sampling thread only.
 */
public final class NativeStacks implements NativeFrames {
    private static final Logger LOG = LoggerFactory.getLogger(NativeStacks.class);
    /**
     * Stack copied per thread at first, from {@code rsp} up. 3.12 with 50 Python frames used 2.8 – 9.5 KB
     * of native stack here, 3.10 with 50 frames 26 – 30 KB (one C frame chain per Python call up to
     * 3.10). A walk that runs past the copy doubles it for the next stops, up to {@link #MAX_STACK_BYTES};
     * a deeper stack is merged partially (its outer Python frames appended).
     */
    static final int STACK_BYTES = 16 * 1024;
    static final int MAX_STACK_BYTES = 512 * 1024;

    private final Target target;
    private final ThreadStops stops;
    /**
     * Held threads are let go right after the look's first read of the target (one {@code process_vm_readv}
     * of everything the previous look found), not after the whole walk: on a 3.12 target 50 frames deep
     * that read is a third of the hold at 1 kHz, and the walk's Java work the rest, cold at 100 Hz.
     */
    private final Runnable resume;
    /**
     * 3.11+ only: up to 3.10 each Python call has a heap frame object, and a look of a thread calling back
     * from C always needed more than the read ahead (0 of 400 looks on 2.7 and 3.10 here), so trying would
     * only add second stops.
     */
    private final boolean earlyRelease;
    /** Looks left before trying an early release again after a look that needed more reads. */
    private int earlyBackoff;
    /**
     * The pause after the next such look: 1 look after a single one (most often the previous look was torn,
     * so nothing of it was read ahead), doubling while they follow each other (a target whose looks always
     * need more: many threads, a stack that keeps growing), up to 64 looks.
     */
    private int nextBackoff = 1;
    private static final int MAX_BACKOFF_LOOKS = 64;
    /**
     * Looks this long after the previous one read what they will hold first, before the stop ({@link #readThreads}):
     * every look at 100 Hz, none at 1 kHz, where the caches stay warm.
     */
    static final long WARM_AFTER_NANOS = 3_000_000L;
    private long lastLookNanos = Long.MIN_VALUE / 2;
    private long warmed;
    private long releasedEarly;
    private long redone;
    private final NativeSplice splice;
    private final StopTimeHistogram stopTimes = new StopTimeHistogram();
    private int[] known = new int[16];
    private int knownCount;
    private int[] seen = new int[16];
    /** Also stop and report the threads that have no Python thread state. */
    private final boolean allThreads;
    private long[] listed = new long[64];
    /** Per index of the last stop: whether that thread had a Python thread state in the look. */
    private boolean[] python = new boolean[16];
    /** Told the threads about to be stopped, after their run states were read; null for none. */
    private ThreadsToStop beforeStop;
    private long spliced;
    private long partial;
    private long torn;
    /** Threads sent out under the unknown-native-frames mark: an object's table was still being built. */
    private long pending;
    private String lastTornReason;

    /**
     * @param keepInterpreterFrames show the interpreter's own C frames instead of hiding them
     */
    public NativeStacks(Target target, boolean keepInterpreterFrames) throws SpyglassException {
        this(target, keepInterpreterFrames, false);
    }

    /**
     * @param keepInterpreterFrames show the interpreter's own C frames instead of hiding them
     * @param allThreads            also stop the threads the interpreter does not know (BLAS workers, threads
     *                              a C extension started), reported by {@link #forEachNativeOnly}
     */
    public NativeStacks(Target target, boolean keepInterpreterFrames, boolean allThreads) throws SpyglassException {
        this.allThreads = allThreads;
        // Reading the target's memory already passed the kernel's ptrace access check (the same one, with
        // Yama's); what remains to refuse a seize is another tracer. Said now rather than at the first tick.
        long tracer = dev.spyglass.internal.os.Ptrace.tracerOf(target.pid(), (int) target.pid());
        if (tracer > 0) {
            throw new dev.spyglass.AccessDeniedException("process " + target.pid() + " is already traced by process "
                    + tracer + " (a debugger or another profiler); native frames need to stop its threads with ptrace, "
                    + "and a thread has one tracer at a time");
        }
        // A child of this JVM: the JDK's process reaper waits for it with waitpid(pid, 0), and any thread of
        // a tracer's process may collect its tracees' stops, so the reaper would take the main thread's stop
        // for an exit (and close the child's pipes). Refused rather than risked.
        if (ProcessHandle.of(target.pid()).flatMap(ProcessHandle::parent).map(ProcessHandle::pid)
                .filter(p -> p == ProcessHandle.current().pid()).isPresent()) {
            throw new SpyglassException("process " + target.pid() + " is a child of this JVM: native frames stop its "
                    + "threads with ptrace, and the JDK's process reaper would take its main thread's stops for an exit. "
                    + "Start it through a shell (sh -c '\"$@\" & wait' sh COMMAND...) or another process, then attach");
        }
        this.target = target;
        this.stops = new ThreadStops(target.memory(), target.pid(), STACK_BYTES, stopTimes);
        this.resume = stops::resume;
        this.earlyRelease = target.version().isAtLeast(3, 11);
        this.splice = new NativeSplice(target, keepInterpreterFrames);
    }

    /** What wants to look at threads at the instant their run states are read, before they are stopped. */
    @FunctionalInterface
    public interface ThreadsToStop {
        /** {@code tids[0 .. n)} are about to be stopped; must not keep {@code tids}. */
        void beforeStop(int[] tids, int n);
    }

    /**
     * Sets what is told, at each look, which threads are about to be stopped: kernel frames read there,
     * since a stopped thread's kernel stack shows the ptrace stop, not the system call it was in.
     */
    @Override
    public void beforeStop(ThreadsToStop listener) {
        this.beforeStop = listener;
    }

    /**
     * Reads every thread as {@link Target#readThreads} does, with the threads known to run Python code
     * held stopped during the read.
     */
    @Override
    public int readThreads(SamplingMode mode) throws SpyglassException {
        if (System.nanoTime() - lastLookNanos >= WARM_AFTER_NANOS) {
            // A cold stop: at 100 Hz the capture and the held read took 3 - 5 times as long as at 1 kHz (33 and 54
            // µs p50 against 10 and 11): the target's page tables, our buffers and this code had left the caches.
            // Reading the same ranges once before the stop, while nothing is held, costs the sampler one read more
            // per look and the target nothing.
            target.warmReadAhead();
            stops.warm();
            warmed++;
        }
        try {
            return readThreadsHeld(mode);
        } finally {
            lastLookNanos = System.nanoTime();
        }
    }

    private int readThreadsHeld(SamplingMode mode) throws SpyglassException {
        for (int attempt = 0;; attempt++) {
            int stopCount = knownCount;
            if (allThreads) {
                stopCount = addOtherThreads();
            }
            // The run states first: a thread held by ptrace shows "t (tracing stop)" instead.
            target.holdRunStates(known, stopCount);
            if (beforeStop != null) {
                beforeStop.beforeStop(known, stopCount);
            }
            stops.stop(known, stopCount);
            for (int i = 0; i < stopCount; i++) {
                if (stops.captured(i)) {
                    target.memory().addHeldCopy(stops.rsp(i), stops.stack(i));
                }
            }
            boolean early = earlyRelease && earlyBackoff == 0;
            if (early) {
                target.afterSnapshot(resume);
            } else {
                earlyBackoff--;
            }
            int n;
            try {
                n = target.readThreads(mode);
            } finally {
                target.afterSnapshot(null);
                target.memory().clearHeldCopies();
                stops.resume();
                target.releaseRunStates();
            }
            if (early && target.readAfterSnapshot()) {
                // The walk read more than the copy made while the threads were held (a new thread, a deeper
                // stack, a new code object): what it read after their release may be of a later instant than
                // their registers. The look is taken again with them held throughout, and early releases
                // pause for a while, so a target that always needs more pays a second stop rarely.
                redone++;
                earlyBackoff = nextBackoff;
                nextBackoff = Math.min(MAX_BACKOFF_LOOKS, nextBackoff * 2);
                attempt--;
                continue;
            }
            if (early) {
                releasedEarly++;
                nextBackoff = 1;
            }
            boolean allStopped = true;
            int count = 0;
            if (seen.length < n) {
                seen = new int[Math.max(n, seen.length * 2)];
            }
            for (int i = 0; i < n; i++) {
                long tid = target.thread(i).nativeThreadId();
                if (tid > 0 && tid <= Integer.MAX_VALUE) {
                    seen[count++] = (int) tid;
                    allStopped &= indexOf((int) tid) >= 0;
                }
            }
            if (allStopped || attempt == 1) {
                markPython(count);
            }
            int[] swap = known;
            known = seen;
            seen = swap;
            knownCount = count;
            if (allStopped || attempt == 1) {
                return n;
            }
        }
    }

    /** Appends the process's threads that are not among the first {@code knownCount} to {@link #known}; the new count. */
    private int addOtherThreads() {
        int n = target.allThreadIds(listed);
        if (n == listed.length) {
            listed = new long[listed.length * 2];
            n = target.allThreadIds(listed);
        }
        int count = knownCount;
        for (int i = 0; i < n; i++) {
            int tid = (int) listed[i];
            boolean isKnown = false;
            for (int k = 0; k < knownCount && !isKnown; k++) {
                isKnown = known[k] == tid;
            }
            if (!isKnown) {
                if (count == known.length) {
                    known = Arrays.copyOf(known, count * 2);
                }
                known[count++] = tid;
            }
        }
        return count;
    }

    /** Marks which threads of the last stop had a Python thread state in the look ({@code seen[0 .. count)}). */
    private void markPython(int count) {
        if (python.length < stops.count()) {
            python = new boolean[Math.max(stops.count(), python.length * 2)];
        }
        for (int i = 0; i < stops.count(); i++) {
            int tid = stops.tid(i);
            boolean p = false;
            for (int k = 0; k < count && !p; k++) {
                p = seen[k] == tid;
            }
            python[i] = p;
        }
    }

    /**
     * With all threads: the stacks, native frames only, of the threads of the last look that have no
     * Python thread state (skipping, in CPU mode, those not running). Python id 0, interpreter id -1, the
     * kernel's name and state; a thread whose walk gives no frame is left out.
     */
    @Override
    public void forEachNativeOnly(SamplingMode mode, java.util.function.Consumer<ThreadStack> action) {
        if (!allThreads) {
            return;
        }
        for (int i = 0; i < stops.count(); i++) {
            if (python[i] || !stops.captured(i)) {
                continue;
            }
            int tid = stops.tid(i);
            dev.spyglass.ThreadState state = target.kernelThreadState(tid);
            // GIL and memory modes: a thread without a Python thread state never holds the GIL.
            if (mode == SamplingMode.GIL || mode == SamplingMode.MEMORY
                    || mode == SamplingMode.CPU && state != dev.spyglass.ThreadState.RUNNING) {
                continue;
            }
            splice.unwind(stops.rip(i), stops.rsp(i), stops.rbp(i), stops.stack(i), stops.rsp(i));
            if (splice.merge(null, List.of()) == StackSplicer.Outcome.TORN) {
                continue;
            }
            List<Frame> frames = splice.frames();
            if (!frames.isEmpty()) {
                action.accept(new ThreadStack(target.pid(), tid, target.kernelThreadStartTime(tid), 0,
                        target.kernelThreadName(tid), -1, state, null, frames));
            }
        }
    }

    /** Index of {@code tid} in the last stop, or -1. Threads are few: a scan is cheaper than a map. */
    private int indexOf(int tid) {
        for (int i = 0; i < stops.count(); i++) {
            if (stops.tid(i) == tid) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The thread's stack with its native frames merged in, or null when they cannot be merged (the
     * thread was not stopped, its stack not captured, or its native and Python stacks disagree; see
     * {@link #lastTornReason()}).
     */
    @Override
    public ThreadStack merge(ThreadRecord t, ThreadStack python) {
        long tid = t.nativeThreadId();
        int i = tid > 0 && tid <= Integer.MAX_VALUE ? indexOf((int) tid) : -1;
        if (i < 0 || !stops.captured(i)) {
            return torn(i < 0 ? "thread was not stopped (its thread id is unknown, or it started during the look)"
                    : "thread exited or did not stop in time");
        }
        NativeUnwinder.Result walk = splice.unwind(stops.rip(i), stops.rsp(i), stops.rbp(i), stops.stack(i), stops.rsp(i));
        if (walk.outcome() == NativeUnwinder.Outcome.TRUNCATED && stops.copyFull(i)
                && walk.reason().startsWith(NativeUnwinder.BEYOND_COPY) && stops.stackBytes() < MAX_STACK_BYTES) {
            stops.stackBytes(stops.stackBytes() * 2);
            LOG.debug("native stack of thread {} is deeper than the copy: copying {} KiB from now on", tid,
                    stops.stackBytes() / 1024);
        }
        if (splice.tablePending()) {
            // An object whose build outlasted its wait (NativeObjects.MAX_WAIT_NANOS): the Python frames are good,
            // so the sample is kept, marked, rather than dropped.
            pending++;
            return NativeSplice.unknown(python);
        }
        StackSplicer.Outcome o = splice.merge(t, python.frames());
        switch (o) {
            case TORN -> {
                return torn(splice.reason());
            }
            case PARTIAL -> {
                partial++;
                LOG.trace("thread {}: native walk ended early ({}); outer Python frames appended", tid, walk.reason());
            }
            case SPLICED -> spliced++;
        }
        return NativeSplice.withFrames(python, splice.frames());
    }

    private final java.util.Map<String, Integer> tornReasons = new java.util.HashMap<>();

    private ThreadStack torn(String reason) {
        torn++;
        if (tornReasons.size() < 100) {
            tornReasons.merge(reason, 1, Integer::sum);
        }
        if (!reason.equals(lastTornReason)) {
            LOG.debug("native frames not merged: {}", reason);
        }
        lastTornReason = reason;
        return null;
    }

    /** Why the last thread could not be merged. */
    public String lastTornReason() {
        return lastTornReason;
    }

    /** How long threads were held stopped. */
    public StopTimeHistogram stopTimes() {
        return stopTimes;
    }

    /** Threads merged completely, partially (outer Python frames appended), and not at all. */
    public long spliced() {
        return spliced;
    }

    public long partial() {
        return partial;
    }

    public long torn() {
        return torn;
    }


    /** Looks whose held threads were let go right after the look's first read (see {@link #resume}). */
    public long releasedEarly() {
        return releasedEarly;
    }

    /** Looks that needed more than that first read, taken again with the threads held throughout. */
    public long redone() {
        return redone;
    }

    /** Looks that read what they hold first once before the stop, a pause after the previous look ({@link #readThreads}). */
    public long warmed() {
        return warmed;
    }

    @Override
    public void close() {
        LOG.debug("native merges: {} spliced, {} partial, {} torn {}, {} while tables were built", spliced, partial,
                torn, tornReasons, pending);
        LOG.debug("stops, p50/p99: {}; {} looks released the threads after the first read, {} were taken again held,"
                + " {} warmed before the stop", stops.phases(), releasedEarly, redone, warmed);
        stops.close();
        splice.close();
    }
}
