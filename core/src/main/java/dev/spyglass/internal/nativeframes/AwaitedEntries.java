package dev.spyglass.internal.nativeframes;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Per thread, the probed entries whose return is awaited, innermost first: an allocator's entry record waits here for
 * the return that gives its block's address ({@link AllocationStacks}). An entry not wanted is pushed as
 * {@link #SKIPPED}, so that its return still pops it. Used from the polling thread only.
 */
final class AwaitedEntries {
    /** The entry of a call whose return is to be ignored. */
    static final long[] SKIPPED = new long[0];
    /** Entries awaited per thread at most: beyond, returns were lost (a full ring) and the stack is reset. */
    private static final int NESTING = 8;

    private final Map<Integer, ArrayDeque<long[]>> byThread = new HashMap<>();

    /** Whether a probed call awaits its return on thread {@code tid}. */
    boolean inProgress(int tid) {
        ArrayDeque<long[]> d = byThread.get(tid);
        return d != null && !d.isEmpty();
    }

    void push(int tid, long[] entry) {
        ArrayDeque<long[]> d = byThread.computeIfAbsent(tid, t -> new ArrayDeque<>());
        if (d.size() >= NESTING) {
            d.clear();
        }
        d.push(entry);
    }

    /** The innermost entry awaited on {@code tid}, taken off; null when none is. */
    long[] pop(int tid) {
        ArrayDeque<long[]> d = byThread.get(tid);
        return d == null ? null : d.poll();
    }

    /** Forgets every awaited entry (the probes were moved: their returns will not come). */
    void clear() {
        byThread.clear();
    }
}
