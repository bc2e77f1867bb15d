package dev.spyglass.internal.nativeframes;

import java.util.HashMap;
import java.util.Map;

import dev.spyglass.ThreadStack;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * The Python threads of one read of the target that have a native thread id: what the engines fed by per-thread
 * perf events ({@link AllocationStacks}, {@link PageFaultStacks}) follow, each in a slot with its TID (for the
 * events), its Python stack (null when the read of that thread was torn or skipped) and its record. A thread
 * without a usable TID (not yet started, or a build that does not keep it) has no events to read, so no slot.
 */
final class ListedThreads {
    private int[] tids = new int[16];
    private ThreadStack[] stacks = new ThreadStack[16];
    private ThreadRecord[] records = new ThreadRecord[16];
    private final Map<Integer, Integer> slots = new HashMap<>();
    private int count;

    /** Lists the first {@code n} threads of the target's last {@link Target#readThreads}, their stacks read now. */
    void list(Target target, int n) {
        if (tids.length < n) {
            tids = new int[Math.max(n, tids.length * 2)];
            stacks = new ThreadStack[tids.length];
            records = new ThreadRecord[tids.length];
        }
        slots.clear();
        count = 0;
        for (int i = 0; i < n; i++) {
            ThreadRecord t = target.thread(i);
            long tid = t.nativeThreadId();
            if (tid <= 0 || tid > Integer.MAX_VALUE) {
                continue;
            }
            tids[count] = (int) tid;
            stacks[count] = t.torn() || t.skipped() ? null : target.threadStack(t);
            records[count] = t;
            slots.put((int) tid, count);
            count++;
        }
    }

    int count() {
        return count;
    }

    /** The TIDs, in slots {@code 0 .. count() - 1}. */
    int[] tids() {
        return tids;
    }

    int tid(int slot) {
        return tids[slot];
    }

    /** The slot's Python stack, or null when its read was torn or skipped. */
    ThreadStack stack(int slot) {
        return stacks[slot];
    }

    ThreadRecord record(int slot) {
        return records[slot];
    }

    /** The slot of thread {@code tid}, or -1 when it is not listed. */
    int slot(int tid) {
        Integer at = slots.get(tid);
        return at == null ? -1 : at;
    }
}
