package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.spyglass.internal.os.RemoteMemory;

/**
 * The part of {@link ReadAhead} for frames read one by one: ≤3.10 frame objects (every frame of the
 * stack, in stack order, read as a few merged ranges) and 3.11+ frames outside the data-stack chunk
 * (3.12+: the entry frame of each evaluation loop lives on the C stack; generator frames live in their
 * generator), per thread slot.
 */
final class ReadAheadFrames {
    final int perThread;
    private final long[] addr;
    private final int[] count = new int[ReadAhead.THREADS];
    private final boolean[] valid;
    private final int[] index;
    private final long[] next;
    private final int[] nextCount = new int[ReadAhead.THREADS];
    private final long[] carried;
    private final int[] carriedCount = new int[ReadAhead.THREADS];
    /** 3.11+: slot i's frame at i × frame buffer size; ≤3.10: in {@link #merged} at {@link #pos}. */
    private MemorySegment buf;
    private MemorySegment merged;
    private long[] pos = new long[0];
    private long[] order = new long[256];

    ReadAheadFrames(int perThread) {
        this.perThread = perThread;
        addr = new long[ReadAhead.THREADS * perThread];
        valid = new boolean[ReadAhead.THREADS * perThread];
        index = new int[ReadAhead.THREADS * perThread];
        next = new long[ReadAhead.THREADS * perThread];
        carried = new long[ReadAhead.THREADS * perThread];
    }

    void beginLook() {
        Arrays.fill(valid, false);
        Arrays.fill(nextCount, 0);
    }

    /** 3.11+: the offset in {@link #buffer()} of {@code frame} read ahead for {@code slot}, or -1. */
    long find(int slot, long frame, int frameSize) {
        if (slot < 0 || slot >= ReadAhead.THREADS) {
            return -1;
        }
        for (int q = 0; q < count[slot]; q++) {
            int i = slot * perThread + q;
            if (addr[i] == frame && valid[i]) {
                return (long) i * frameSize;
            }
        }
        return -1;
    }

    /** ≤3.10: the position in {@link #merged()} of the {@code n}-th frame of {@code slot}, or -1. */
    long findNth(int slot, int n, long frame) {
        int i = slot >= 0 && slot < ReadAhead.THREADS && n < count[slot] ? slot * perThread + n : -1;
        return i >= 0 && addr[i] == frame && valid[i] ? pos[i] : -1;
    }

    void allocate(Arena arena, int frameSize) {
        buf = arena.allocate((long) frameSize * ReadAhead.THREADS * perThread, 8);
    }

    MemorySegment buffer() {
        return buf;
    }

    MemorySegment merged() {
        return merged;
    }

    /** Remembers the {@code n}-th frame of {@code slot} (≤3.10: every frame in stack order). */
    void noteNth(int slot, int n, long frame) {
        if (slot >= 0 && n < perThread) {
            next[slot * perThread + n] = frame;
            nextCount[slot] = n + 1;
        }
    }

    /** Remembers a frame of {@code slot} read one by one (3.11+: outside the chunk). */
    void note(int slot, long frame) {
        if (slot >= 0 && nextCount[slot] < perThread) {
            next[slot * perThread + nextCount[slot]++] = frame;
        }
    }

    void queueEach(RemoteMemory memory, StructSpans frameSpans, int threads, int budget) {
        int fsSize = frameSpans.bufferSize();
        for (int k = 0; k < threads; k++) {
            for (int q = 0; q < count[k]; q++) {
                int i = k * perThread + q;
                if (budget-- <= 0) {
                    index[i] = Integer.MAX_VALUE;
                    continue;
                }
                frameSpans.queue(memory, addr[i], buf, (long) i * fsSize);
                index[i] = memory.pending() - 1;
            }
        }
    }

    void queueMerged(RemoteMemory memory, StructSpans frameSpans, int threads, Arena arena) {
        if (pos.length < addr.length) {
            pos = new long[addr.length];
        }
        int n = 0;
        for (int k = 0; k < threads; k++) {
            for (int q = 0; q < count[k]; q++) {
                int i = k * perThread + q;
                index[i] = Integer.MAX_VALUE;
                if (n == order.length) {
                    order = Arrays.copyOf(order, n * 2);
                }
                // address (< 2^47) and slot index (< 2^16) packed into one sortable long
                order[n++] = (addr[i] << 16) | i;
            }
        }
        if (n == 0) {
            return;
        }
        // Arrays.sort allocates a run table for arrays of 65+ elements: sort in place instead.
        LongSort.heapSort(order, n);
        long extent = frameSpans.extent();
        long total = mergedBytes(n, extent);
        if (merged == null || merged.byteSize() < total) {
            merged = arena.allocate(Math.max(total, 64 << 10), 16);
        }
        int budget = (RemoteMemory.MAX_IOV - 64 - ReadAhead.CODES - memory.pending()) / Math.max(1, frameSpans.ranges());
        long at = 0;
        long start = -1;
        long end = -1;
        int rangeFirst = 0;
        for (int j = 0; j <= n; j++) {
            long a = j < n ? order[j] >>> 16 : Long.MAX_VALUE;
            if (j == n || start < 0 || a - end > ReadAhead.LEGACY_GAP || a + extent - start > ReadAhead.LEGACY_MAX_RANGE) {
                if (start >= 0) {
                    if (budget-- <= 0) {
                        return;
                    }
                    int rangeIndex = memory.add(start, merged, at, end - start);
                    for (int m = rangeFirst; m < j; m++) {
                        int i = (int) (order[m] & 0xffff);
                        index[i] = rangeIndex;
                        pos[i] = at + ((order[m] >>> 16) - start);
                    }
                    at += end - start;
                }
                if (j == n) {
                    break;
                }
                start = a;
                end = a;
                rangeFirst = j;
            }
            end = Math.max(end, a + extent);
        }
    }

    /** Bytes of the merged ranges covering the first {@code n} sorted frames. */
    private long mergedBytes(int n, long extent) {
        long total = 0;
        long start = -1;
        long end = -1;
        for (int j = 0; j < n; j++) {
            long a = order[j] >>> 16;
            if (start < 0 || a - end > ReadAhead.LEGACY_GAP || a + extent - start > ReadAhead.LEGACY_MAX_RANGE) {
                if (start >= 0) {
                    total += end - start;
                }
                start = a;
            }
            end = Math.max(end, a + extent);
        }
        return total + end - start;
    }

    void completed(int threads, int done) {
        for (int k = 0; k < threads; k++) {
            for (int q = 0; q < count[k]; q++) {
                int i = k * perThread + q;
                valid[i] = index[i] < done;
            }
        }
    }

    void carry(int fromSlot, int toSlot) {
        int n = fromSlot >= 0 ? nextCount[fromSlot] : 0;
        System.arraycopy(next, Math.max(fromSlot, 0) * perThread, carried, toSlot * perThread, n);
        carriedCount[toSlot] = n;
    }

    void commit() {
        System.arraycopy(carried, 0, addr, 0, addr.length);
        System.arraycopy(carriedCount, 0, count, 0, ReadAhead.THREADS);
    }
}
