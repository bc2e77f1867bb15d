package dev.spyglass.examples;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;

import dev.spyglass.CallEvent;
import dev.spyglass.Frame;
import dev.spyglass.PythonProcess;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;

/**
 * {@code latency --by-stack}: the Python stacks of the slowest calls. A probe record cannot carry the Python stack,
 * so the threads' stacks are read at every poll (about every 10 ms) and a call gets the stack of its thread read
 * while it was running (entry before the read began, return after it ended). During the call that thread is inside
 * the C function, so its Python frames are those that called it (plus any the function called back into). A call
 * shorter than the gap between two reads usually spans none and gets no stack: said, not guessed.
 */
final class SlowCallStacks {
    static final int KEPT = 10;
    /** Reads kept per thread: 5 s at one read per 10 ms (a slower call gets no stack). */
    private static final int HISTORY = 500;

    /** A slow call and the stack its thread showed during it (empty when none was read then). */
    record SlowCall(int tid, long durationNanos, List<Frame> frames) {
    }

    private record Read(long from, long to, List<Frame> frames) {
    }

    private final PythonProcess process;
    private final Map<Integer, ArrayDeque<Read>> reads = new HashMap<>();
    private final PriorityQueue<SlowCall> slowest = new PriorityQueue<>(Comparator.comparingLong(SlowCall::durationNanos));

    SlowCallStacks(PythonProcess process) {
        this.process = process;
    }

    /** Reads every thread's Python stack now. */
    void read() throws SpyglassException {
        long from = System.nanoTime();
        List<ThreadStack> stacks = process.snapshot();
        long to = System.nanoTime();
        for (ThreadStack t : stacks) {
            if (t.nativeThreadId() > 0) {
                ArrayDeque<Read> q = reads.computeIfAbsent((int) t.nativeThreadId(), k -> new ArrayDeque<>());
                if (q.size() == HISTORY) {
                    q.removeFirst();
                }
                q.addLast(new Read(from, to, t.frames()));
            }
        }
    }

    /** Considers a finished call (an exit with its duration). */
    void accept(CallEvent e) {
        if (e.kind() != CallEvent.Kind.EXIT || e.durationNanos() < 0) {
            return;
        }
        if (slowest.size() == KEPT && slowest.peek().durationNanos() >= e.durationNanos()) {
            return;
        }
        long entry = e.timeNanos() - e.durationNanos();
        List<Frame> frames = List.of();
        ArrayDeque<Read> q = reads.get(e.tid());
        if (q != null) {
            for (Read r : q) {
                if (r.from() >= entry && r.to() <= e.timeNanos()) {
                    frames = r.frames();
                    break;
                }
            }
        }
        slowest.add(new SlowCall(e.tid(), e.durationNanos(), frames));
        if (slowest.size() > KEPT) {
            slowest.poll();
        }
    }

    /** The slowest calls, slowest first. */
    List<SlowCall> slowest() {
        List<SlowCall> out = new ArrayList<>(slowest);
        out.sort(Comparator.comparingLong(SlowCall::durationNanos).reversed());
        return out;
    }

    static String text(List<SlowCall> calls) {
        StringBuilder sb = new StringBuilder("slowest calls and the Python stack that made them:\n");
        for (SlowCall c : calls) {
            sb.append(String.format(Locale.ROOT, "  %s µs, thread %d%n", LatencyReport.us(c.durationNanos()), c.tid()));
            if (c.frames().isEmpty()) {
                sb.append("    (no stack: the call was shorter than the gap between two stack reads)\n");
            }
            for (Frame f : c.frames()) {
                sb.append("    ").append(f.qualifiedName());
                if (f.file() != null && !f.file().isEmpty()) {
                    sb.append(" (").append(f.file()).append(f.line() > 0 ? ":" + f.line() : "").append(')');
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** {@code "slowest":[{"duration_us":…, "tid":N, "frames":[{"name":…, "file":…, "line":N}]}]}. */
    static void json(StringBuilder sb, List<SlowCall> calls) {
        sb.append(",\"slowest\":[");
        int i = 0;
        for (SlowCall c : calls) {
            sb.append(i++ == 0 ? "" : ",").append("{\"duration_us\":").append(LatencyReport.us(c.durationNanos()))
                    .append(",\"tid\":").append(c.tid()).append(",\"frames\":[");
            int k = 0;
            for (Frame f : c.frames()) {
                sb.append(k++ == 0 ? "" : ",").append("{\"name\":");
                Json.string(sb, f.qualifiedName());
                sb.append(",\"file\":");
                Json.string(sb, f.file() == null ? "" : f.file());
                sb.append(",\"line\":").append(f.line()).append('}');
            }
            sb.append("]}");
        }
        sb.append(']');
    }
}
