package dev.spyglass.internal.session;

import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.os.ResidentMemory;

/**
 * {@link dev.spyglass.SamplingMode#MEMORY}: the change of the process's resident memory since the previous
 * sample, given to the thread holding the GIL at the tick, as Austin's {@code -m} does (its
 * {@code py_proc.c}: the delta of statm's resident pages goes to the GIL's holder, or to the last holder on
 * 3.12+). A growth is one sample weighing the bytes gained; a release one weighing the bytes lost, with
 * {@link Frame#MEMORY_RELEASED} as its outermost frame, so that weights stay positive and the two views
 * stay apart in every format. A tick where no thread holds the GIL (all of them sleep or run C code that
 * released it) takes no reading: the change goes to the next holder seen, so the weights of a session
 * always add up (growth minus release) to the change of RSS between its first and last readings.
 * Used from the sampling thread only.
 */
final class ResidentMemoryDeltas implements AutoCloseable {
    private final long pid;
    private ResidentMemory rss;
    private long last = -1;
    private boolean unreadable;

    ResidentMemoryDeltas(long pid) {
        this.pid = pid;
    }

    /**
     * Reads the resident size and gives its change since the last reading to {@code holder}.
     *
     * @param holder the thread holding the GIL at this tick, or null when none does (nothing is read then)
     */
    void attribute(ThreadStack holder, long timestampNanos, EventBuffer out) {
        if (unreadable) {
            return;
        }
        if (rss == null) {
            rss = ResidentMemory.open(pid);
            if (rss == null) {
                unreadable = true; // the process has gone: the stack read says so at the next tick
                return;
            }
        }
        if (holder == null && last >= 0) {
            return;
        }
        long now = rss.bytes();
        if (now < 0) {
            return;
        }
        if (last < 0) {
            last = now; // the baseline: changes are counted from the first reading
            return;
        }
        long delta = now - last;
        last = now;
        if (delta > 0) {
            out.add(new StackSample(holder, timestampNanos, delta));
        } else if (delta < 0) {
            out.add(new StackSample(released(holder), timestampNanos, -delta));
        }
    }

    /** {@code holder}'s stack with {@link Frame#MEMORY_RELEASED} outermost. */
    static ThreadStack released(ThreadStack holder) {
        List<Frame> frames = new ArrayList<>(holder.frames().size() + 1);
        frames.addAll(holder.frames());
        frames.add(Frame.MEMORY_RELEASED);
        return new ThreadStack(holder.pid(), holder.nativeThreadId(), holder.threadStartTime(), holder.pythonThreadId(),
                holder.threadName(), holder.interpreterId(), holder.state(), holder.gilHeld(), frames);
    }

    @Override
    public void close() {
        if (rss != null) {
            rss.close();
        }
    }
}
