package dev.spyglass;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Turns the probes' records into {@link CallEvent}s for {@link FunctionProbes}: per thread, each entry is kept open
 * ({@link OpenCalls}) until the exit of the same function, which closes it with its duration; calls above it whose
 * returns were not seen (a longjmp, records lost to a full ring) are closed with it and counted as unmatched.
 * A dropped function's records stamped from its drop on are not delivered (the kernel may go on writing them until
 * its close completes), and its calls still open are given up, once, as {@link CallEvent.Kind#ABANDONED}. Not
 * thread-safe.
 */
final class CallMatcher {
    /** The names a record is delivered with. */
    interface Names {
        /** Function {@code f}'s symbol, or the Python function {@code py} a call of the Python-call probe runs. */
        String symbol(int f, Frame py);

        /** The Python function object at {@code address}, read now. */
        Frame pythonFunction(long address);
    }

    /**
     * After a drop, how long until its open calls are given up: much longer than the per-CPU drain keeps recent
     * records in the rings (2 ms), so that the records stamped before the drop are delivered first, even written late.
     */
    static final long GIVE_UP_NANOS = 50_000_000;

    private final Names names;
    private final int pythonIndex;
    private final Map<Integer, OpenCalls> open = new HashMap<>();
    private final long[] hits;
    /** Per function: when it was dropped (its records from then on are not delivered); 0: not dropped. */
    private final long[] droppedAt;
    private boolean anyDropped;
    private long unmatched;

    CallMatcher(int functions, int pythonIndex, Names names) {
        this.names = names;
        this.pythonIndex = pythonIndex;
        this.hits = new long[functions];
        this.droppedAt = new long[functions];
    }

    /**
     * One record: probe {@code 2f} is function {@code f}'s entry, {@code 2f + 1} its return; {@code di} the entry's
     * first argument (the function object of a Python call); {@code polled} when the drain began.
     */
    void record(int probe, int tid, long time, long di, long polled, Consumer<CallEvent> consumer) {
        int f = probe >> 1;
        if (droppedAt[f] != 0 && (time - droppedAt[f] >= 0
                || ((probe & 1) == 0 && polled - droppedAt[f] > GIVE_UP_NANOS))) {
            // Dropped: the kernel may go on writing its records until its close completes. An entry from before
            // the drop that reaches the rings after its open calls were given up (written late: a CPU of this VM
            // held up; seen on pyenv 3.11 at load 11) would stay open for good: not delivered either.
            unmatched += (probe & 1) == 0 && time - droppedAt[f] < 0 ? 1 : 0;
            return;
        }
        OpenCalls c = open.computeIfAbsent(tid, t -> new OpenCalls());
        if (anyDropped) {
            // A record of this thread from after a drop: the dropped calls open on it will get no exit (theirs
            // are not delivered), and must not take this call as theirs (seen on Debian 3.11: spy_quiet,
            // called by the trigger 39 ms after the drop, came under the busy call open at the drop).
            abandon(tid, c, time, consumer);
        }
        if ((probe & 1) == 0) {
            hits[f]++;
            int depth = c.depth;
            Frame py = f == pythonIndex ? names.pythonFunction(di) : null;
            if (depth < FunctionProbes.MAX_DEPTH) {
                c.push(f, time, py);
            }
            consumer.accept(new CallEvent(CallEvent.Kind.ENTRY, tid, time, f, names.symbol(f, py), depth, -1, py));
            return;
        }
        int at = c.depth - 1;
        while (at >= 0 && c.function[at] != f) {
            at--;
        }
        if (at < 0) { // its entry came before the probes, or was dropped with a full ring
            unmatched++;
            consumer.accept(new CallEvent(CallEvent.Kind.EXIT, tid, time, f, names.symbol(f, null), 0, -1, null));
            return;
        }
        // Calls above it whose returns were not seen (a longjmp, dropped records) are closed with it.
        unmatched += c.depth - 1 - at;
        c.depth = at;
        consumer.accept(new CallEvent(CallEvent.Kind.EXIT, tid, time, f, names.symbol(f, c.python[at]), at,
                time - c.since[at], c.python[at]));
    }

    /** After a drain: threads with no record since a drop give up its calls once late records are in. */
    void drained(long polled, Consumer<CallEvent> consumer) {
        if (anyDropped) {
            for (Map.Entry<Integer, OpenCalls> e : open.entrySet()) {
                abandon(e.getKey(), e.getValue(), polled - GIVE_UP_NANOS, consumer);
            }
        }
    }

    /** Marks function {@code i} dropped now; the time of its drop (the first one, if it was already). */
    long drop(int i) {
        if (droppedAt[i] == 0) {
            droppedAt[i] = System.nanoTime();
            anyDropped = true;
        }
        return droppedAt[i];
    }

    boolean dropped(int i) {
        return droppedAt[i] != 0;
    }

    long hits(int i) {
        return hits[i];
    }

    long unmatched() {
        return unmatched;
    }

    /** Forgets the open calls of threads not among {@code tids[0 .. n)}: a thread that exited inside a call. */
    void keepThreads(int[] tids, int n) {
        open.keySet().removeIf(t -> !contains(tids, n, t));
    }

    /**
     * Gives up the calls open on thread {@code tid} of functions dropped before {@code time} (their exits are not
     * delivered), each delivered as ABANDONED at its drop's time; the calls inside one move out one level.
     */
    private void abandon(int tid, OpenCalls c, long time, Consumer<CallEvent> consumer) {
        for (int at = c.depth - 1; at >= 0; at--) {
            int g = c.function[at];
            if (droppedAt[g] != 0 && time - droppedAt[g] >= 0) {
                Frame py = c.python[at];
                c.remove(at);
                consumer.accept(new CallEvent(CallEvent.Kind.ABANDONED, tid, droppedAt[g], g, names.symbol(g, py), at,
                        -1, py));
            }
        }
    }

    private static boolean contains(int[] a, int n, int v) {
        for (int i = 0; i < n; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }
}
