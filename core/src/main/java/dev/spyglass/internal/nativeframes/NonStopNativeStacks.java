package dev.spyglass.internal.nativeframes;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.kernel.PerfSampleCost;
import dev.spyglass.internal.kernel.UserStackSamples;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * Native frames without ever stopping a thread: the kernel takes snapshots of each Python thread's user
 * registers and stack ({@link UserStackSamples}: one per interval of CPU time, and one each time the
 * thread leaves its CPU), the Python stacks are read as without native frames, and a thread's newest
 * snapshot is spliced with its Python stack only in the two cases below. Otherwise the sample keeps its
 * Python frames under {@link Frame#NATIVE_FRAMES_UNKNOWN} ("unspliced").
 *
 * <p>A snapshot taken at {@code ts} (the newest written before this tick's read began, at {@code R0}) is
 * accepted in two cases:
 * <ol>
 * <li><b>Idle since the snapshot.</b> It was taken as the thread left its CPU, and the thread's CPU time
 * (its clock event's count, read exactly by the kernel, after each tick's read) is the same at the read
 * after this tick's Python read ({@code C_k}) as at the previous tick's ({@code C_k-1}), with
 * {@code ts < C_k-1}, and no record may have been dropped since the snapshot. Why that suffices: an
 * unchanged CPU time means the thread did not run during {@code [C_k-1, C_k]}, which holds this tick's
 * whole Python read; a thread's Python stack changes only when it runs, so the read shows the stack of its
 * last switch-out before {@code C_k-1}. Every switch-out writes a record, so with none dropped the newest
 * record before {@code R0} is that switch-out's (a later one would mean it ran after {@code C_k-1}): the
 * snapshot. The record is visible to the drain: reading the count of a thread still switching out waits for
 * its CPU (an inter-processor call, run once the switch and its record are done), and an event already
 * switched out wrote its record before (perf_event_task_sched_out in include/linux/perf_event.h takes the
 * switch event before switching the task's events out; read in the kernel's source, not re-checked on 6.18).
 * A thread blocked in a system call or sleeping passes from its second tick off CPU.
 * <li><b>Inside one Python frame.</b> The snapshot falls between the end of the previous tick's read and the
 * start of this one's, and both reads show the same Python stack (frames, lines and entry marks). A thread
 * in one long C call passes; a thread running through Python calls mostly does not. This is the issue's
 * rule and not a proof: a thread that leaves a frame and comes back to the same line between two ticks
 * (an A → B → A change of a loop calling the same function) passes with a snapshot of the moment in
 * between. The splicer's own check (activations of the evaluation loop against entry frames) rejects many
 * such snapshots, not all on 3.11+ (one activation runs several Python frames there).
 * </ol>
 * A thread with neither (no snapshot at all: blocked since before the session, as a switch-out record is
 * written only when a thread leaves its CPU; or records dropped) whose CPU time did not change since the
 * previous tick's count gets its registers from {@code /proc/PID/task/TID/syscall} and one copy of its
 * stack ({@link SyscallSnapshots}), accepted when its CPU time read again after the copy is still the
 * same: the thread did not run from before this tick's Python read to after the copy, the same proof as the
 * first case.
 * Snapshots of deep stacks are cut at the fixed copy size and merged partially, as in {@link NativeStacks}.
 * Used from the sampling thread only.
 */
public final class NonStopNativeStacks implements NativeFrames {
    private static final Logger LOG = LoggerFactory.getLogger(NonStopNativeStacks.class);
    /** Stack copied per snapshot (fixed: the kernel copies it into each record). */
    static final int STACK_BYTES = 16 * 1024;

    private final Target target;
    private final UserStackSamples samples;
    private final NativeSplice splice;
    private final SyscallSnapshots blocked;
    private final Map<Integer, Seen> previous = new HashMap<>();
    private int[] tids = new int[16];
    private long tick;
    private long readStart;
    private long readEnd;
    private volatile long spliced;
    private volatile long partial;
    private volatile long unspliced;
    private volatile long moved;
    private volatile long disagreed;
    private volatile long lost;
    private volatile long taken;
    private volatile long fromSyscall;
    /** Of {@link #unspliced}: the snapshot reached an object whose table was still being built. */
    private volatile long pending;

    /** A thread's Python stack at a tick: its frames, entry marks, and when that tick's read ended. */
    private static final class Seen {
        List<Frame> frames = List.of();
        boolean[] entries = new boolean[0];
        long tick;
        long readEnd;
        long startTime = -1;

        boolean same(List<Frame> f, ThreadRecord t) {
            if (!frames.equals(f)) {
                return false;
            }
            for (int i = 0; i < Math.min(t.depth(), entries.length); i++) {
                if (entries[i] != t.entryFrame(i)) {
                    return false;
                }
            }
            return true;
        }

        void set(List<Frame> f, ThreadRecord t, long tick, long readEnd) {
            if (!frames.equals(f)) {
                frames = List.copyOf(f);
            }
            int n = Math.min(t.depth(), f.size());
            if (entries.length != n) {
                entries = new boolean[n];
            }
            for (int i = 0; i < n; i++) {
                entries[i] = t.entryFrame(i);
            }
            this.tick = tick;
            this.readEnd = readEnd;
        }
    }

    /**
     * @param intervalNanos         the sampling interval: one clock snapshot per this much CPU time
     * @param keepInterpreterFrames show the interpreter's own C frames instead of hiding them
     * @throws dev.spyglass.AccessDeniedException the kernel refuses perf events on the target
     */
    public NonStopNativeStacks(Target target, long intervalNanos, boolean keepInterpreterFrames)
            throws SpyglassException {
        this.target = target;
        this.samples = new UserStackSamples(target.pid(), intervalNanos, STACK_BYTES);
        try {
            samples.check((int) target.pid()); // its main thread: a refusal is said at attach
            this.splice = new NativeSplice(target, keepInterpreterFrames);
            this.blocked = new SyscallSnapshots(target.pid(), target.memory(), STACK_BYTES);
        } catch (SpyglassException | RuntimeException | Error e) {
            samples.close();
            throw e;
        }
    }

    @Override
    public int readThreads(SamplingMode mode) throws SpyglassException {
        tick++;
        long r0 = System.nanoTime();
        int n = target.readThreads(mode);
        long r1 = System.nanoTime();
        if (tids.length < n) {
            tids = new int[Math.max(n, tids.length * 2)];
        }
        int count = 0;
        for (int i = 0; i < n; i++) {
            long tid = target.thread(i).nativeThreadId();
            if (tid > 0 && tid <= Integer.MAX_VALUE) {
                tids[count++] = (int) tid;
            }
        }
        samples.track(tids, count);
        // After the read: a CPU time unchanged since the previous tick's read brackets this tick's read.
        samples.readCpuTimes();
        samples.drain(r0);
        lost = samples.lostRecords();
        taken = samples.samplesTaken();
        readStart = r0;
        readEnd = r1;
        if (previous.size() > 2 * count + 16) {
            previous.values().removeIf(s -> s.tick < tick - 1);
        }
        return n;
    }

    @Override
    public ThreadStack merge(ThreadRecord t, ThreadStack python) {
        long tid = t.nativeThreadId();
        List<Frame> frames = python.frames();
        if (tid <= 0 || tid > Integer.MAX_VALUE) {
            return unknown(python);
        }
        Seen seen = previous.computeIfAbsent((int) tid, k -> new Seen());
        long start = python.threadStartTime();
        if (start > 0 && seen.startTime > 0 && start != seen.startTime) {
            // The TID names a new thread (the old one exited): its events followed the old one.
            samples.forget((int) tid);
            blocked.forget((int) tid);
            previous.put((int) tid, seen = new Seen());
        }
        seen.startTime = start;
        boolean sameAsBefore = seen.tick == tick - 1 && seen.same(frames, t);
        long previousReadEnd = seen.readEnd;
        seen.set(frames, t, tick, readEnd);
        UserStackSamples.Tracked s = samples.thread((int) tid);
        if (s == null) {
            return unknown(python);
        }
        boolean offCpu = s.cpuBefore() >= 0 && s.cpuNow() == s.cpuBefore();
        boolean idle = s.usable() && s.switchOut() && !s.lostSince() && offCpu && s.time() < s.cpuReadNanosBefore();
        boolean inOneFrame = s.usable() && sameAsBefore && s.time() > previousReadEnd && s.time() < readStart;
        if (idle || inOneFrame) {
            splice.unwind(s.rip(), s.rsp(), s.rbp(), s.stack(), s.rsp());
        } else if (offCpu && blocked.take((int) tid) && samples.readCpuTime((int) tid) == s.cpuBefore()) {
            // No snapshot of this instant (blocked since before the session, or records dropped), but the
            // thread did not run from the previous tick's count to after this copy: the copy is of the read's
            // instant (see SyscallSnapshots).
            fromSyscall++;
            splice.unwind(blocked.rip(), blocked.rsp(), 0, blocked.stack(), blocked.rsp());
        } else {
            if (s.usable()) {
                moved++;
            }
            return unknown(python);
        }
        if (splice.tablePending()) {
            pending++;
            return unknown(python);
        }
        switch (splice.merge(t, frames)) {
            case TORN -> {
                disagreed++;
                LOG.trace("thread {}: snapshot and Python stack disagree ({})", tid, splice.reason());
                return unknown(python);
            }
            case PARTIAL -> partial++;
            case SPLICED -> spliced++;
        }
        return NativeSplice.withFrames(python, splice.frames());
    }

    private ThreadStack unknown(ThreadStack python) {
        unspliced++;
        return NativeSplice.unknown(python);
    }

    /** Samples with native frames spliced in (completely or partially). */
    public long spliced() {
        return spliced + partial;
    }

    /** Of {@link #spliced()}, those whose native walk ended early (outer Python frames appended). */
    public long partial() {
        return partial;
    }

    /** Samples emitted under {@link Frame#NATIVE_FRAMES_UNKNOWN}. */
    public long unspliced() {
        return unspliced;
    }

    /** Of {@link #unspliced()}: no snapshot could be proven of the read's instant (the thread moved). */
    public long moved() {
        return moved;
    }

    /** Of {@link #unspliced()}: an accepted snapshot the splicer found inconsistent with the Python stack. */
    public long disagreed() {
        return disagreed;
    }

    /** Of {@link #spliced()}: from a blocked thread's {@code /proc/PID/task/TID/syscall} registers and stack. */
    public long fromBlockedRegisters() {
        return fromSyscall;
    }

    /** Snapshots (clock and context switch) the kernel took of the target's threads up to the last look. */
    public long samplesTaken() {
        return taken;
    }

    /** The target's time one of its snapshots takes, estimated ({@link PerfSampleCost#userStacks}). */
    public static PerfSampleCost.Result sampleCost(boolean calibrateNow) {
        return PerfSampleCost.userStacks(STACK_BYTES, calibrateNow);
    }

    /** Records the kernel dropped because a ring buffer was full. */
    public long lost() {
        return lost;
    }

    @Override
    public void close() {
        LOG.debug("non-stop native merges: {} spliced ({} partial, {} from a blocked thread's registers), {} unspliced"
                + " ({} moved, {} disagreed, {} while tables were built), {} lost", spliced + partial, partial, fromSyscall,
                unspliced, moved, disagreed, pending, lost);
        samples.close();
        splice.close();
        blocked.close();
    }
}
