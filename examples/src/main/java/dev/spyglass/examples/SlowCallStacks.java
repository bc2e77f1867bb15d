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
 * {@code latency --by-stack}: the Python stacks of the slowest calls, and the slow calls (at least the p90) merged by
 * stack. A probe record cannot carry the Python stack,
 * so the threads' stacks are read at every poll (about every 10 ms) and a call gets the stack of its thread read
 * while it was running (entry before the read began, return after it ended). During the call that thread is inside
 * the C function, so its Python frames are those that called it (plus any the function called back into). A call
 * shorter than the gap between two reads usually spans none and gets no stack: said, not guessed.
 */
final class SlowCallStacks {
    static final int KEPT = 10;
    /** Distinct stacks merged at most (a further one is counted with the calls that got no stack). */
    static final int MERGED_STACKS = 1000;
    /** Reads kept per thread: 5 s at one read per 10 ms (a slower call gets no stack). */
    private static final int HISTORY = 500;

    /** A slow call and the stack its thread showed during it (empty when none was read then). */
    record SlowCall(int tid, long durationNanos, List<Frame> frames) {
    }

    private record Read(long from, long to, List<Frame> frames) {
    }

    /** Slow calls that got the same stack: how many, their summed and longest durations. */
    record Merged(List<Frame> frames, long calls, long totalNanos, long maxNanos) {
    }

    private final PythonProcess process;
    private final Map<Integer, ArrayDeque<Read>> reads = new HashMap<>();
    private final PriorityQueue<SlowCall> slowest = new PriorityQueue<>(Comparator.comparingLong(SlowCall::durationNanos));
    private final Map<List<Frame>, long[]> merged = new HashMap<>();
    private long slowWithoutStack;

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

    /**
     * Considers a finished call (an exit with its duration); a call lasting {@code slowNanos} or more (the p90 of
     * the calls seen so far) is merged by its stack.
     */
    void accept(CallEvent e, long slowNanos) {
        if (e.kind() != CallEvent.Kind.EXIT || e.durationNanos() < 0) {
            return;
        }
        boolean slow = e.durationNanos() >= slowNanos;
        boolean kept = slowest.size() < KEPT || slowest.peek().durationNanos() < e.durationNanos();
        if (!slow && !kept) {
            return;
        }
        List<Frame> frames = stackDuring(e);
        if (slow) {
            long[] m = merged.get(frames);
            if (frames.isEmpty() || (m == null && merged.size() == MERGED_STACKS)) {
                slowWithoutStack++;
            } else {
                if (m == null) {
                    m = new long[3];
                    merged.put(frames, m);
                }
                m[0]++;
                m[1] += e.durationNanos();
                m[2] = Math.max(m[2], e.durationNanos());
            }
        }
        if (!kept) {
            return;
        }
        slowest.add(new SlowCall(e.tid(), e.durationNanos(), frames));
        if (slowest.size() > KEPT) {
            slowest.poll();
        }
    }

    /** The stack of a read of the call's thread made entirely while the call ran, or none. */
    private List<Frame> stackDuring(CallEvent e) {
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
        return frames;
    }

    /** The slow calls merged by stack, the most total time first, at most {@value #KEPT}. */
    List<Merged> merged() {
        List<Merged> out = new ArrayList<>();
        merged.forEach((frames, m) -> out.add(new Merged(frames, m[0], m[1], m[2])));
        out.sort(Comparator.comparingLong(Merged::totalNanos).reversed());
        return out.subList(0, Math.min(KEPT, out.size()));
    }

    /** Slow calls that spanned no stack read (or came when {@value #MERGED_STACKS} stacks were merged already). */
    long slowWithoutStack() {
        return slowWithoutStack;
    }

    /** The slowest calls, slowest first. */
    List<SlowCall> slowest() {
        List<SlowCall> out = new ArrayList<>(slowest);
        out.sort(Comparator.comparingLong(SlowCall::durationNanos).reversed());
        return out;
    }

    String text() {
        List<SlowCall> calls = slowest();
        StringBuilder sb = new StringBuilder("slowest calls and the Python stack that made them:\n");
        for (SlowCall c : calls) {
            sb.append(String.format(Locale.ROOT, "  %s µs, thread %d%n", LatencyReport.us(c.durationNanos()), c.tid()));
            if (c.frames().isEmpty()) {
                sb.append("    (no stack: the call was shorter than the gap between two stack reads)\n");
            }
            textFrames(sb, c.frames());
        }
        sb.append(String.format(Locale.ROOT, "slow calls (at least the p90 of the calls before them) merged by stack,"
                + " the most time first (%d more got no stack):%n", slowWithoutStack));
        for (Merged m : merged()) {
            sb.append(String.format(Locale.ROOT, "  %d calls, %s µs in all, longest %s µs%n", m.calls(),
                    LatencyReport.us(m.totalNanos()), LatencyReport.us(m.maxNanos())));
            textFrames(sb, m.frames());
        }
        return sb.toString();
    }

    private static void textFrames(StringBuilder sb, List<Frame> frames) {
        for (Frame f : frames) {
            sb.append("    ").append(f.qualifiedName());
            if (f.file() != null && !f.file().isEmpty()) {
                sb.append(" (").append(f.file()).append(f.line() > 0 ? ":" + f.line() : "").append(')');
            }
            sb.append('\n');
        }
    }

    /**
     * {@code "slowest":[{"duration_us":…, "tid":N, "frames":[{"name":…, "file":…, "line":N}]}]}, then
     * {@code "by_stack":[{"calls":N, "total_us":…, "max_us":…, "frames":[…]}], "slow_without_stack":N}.
     */
    void json(StringBuilder sb) {
        sb.append(",\"slowest\":[");
        int i = 0;
        for (SlowCall c : slowest()) {
            sb.append(i++ == 0 ? "" : ",").append("{\"duration_us\":").append(LatencyReport.us(c.durationNanos()))
                    .append(",\"tid\":").append(c.tid()).append(',');
            frames(sb, c.frames()).append('}');
        }
        sb.append("],\"by_stack\":[");
        i = 0;
        for (Merged m : merged()) {
            sb.append(i++ == 0 ? "" : ",").append("{\"calls\":").append(m.calls()).append(",\"total_us\":")
                    .append(LatencyReport.us(m.totalNanos())).append(",\"max_us\":")
                    .append(LatencyReport.us(m.maxNanos())).append(',');
            frames(sb, m.frames()).append('}');
        }
        sb.append("],\"slow_without_stack\":").append(slowWithoutStack);
    }

    private static StringBuilder frames(StringBuilder sb, List<Frame> frames) {
        sb.append("\"frames\":[");
        int k = 0;
        for (Frame f : frames) {
            sb.append(k++ == 0 ? "" : ",").append("{\"name\":");
            Json.string(sb, f.qualifiedName());
            sb.append(",\"file\":");
            Json.string(sb, f.file() == null ? "" : f.file());
            sb.append(",\"line\":").append(f.line()).append('}');
        }
        return sb.append(']');
    }
}
