package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.spyglass.internal.os.RemoteMemory;

/**
 * The part of {@link ReadAhead} for older data-stack chunks (3.11+: a deep stack spans several 16 KiB
 * chunks linked by {@code previous}), up to {@value ReadAhead#OLD_CHUNKS} per thread slot.
 */
final class ReadAheadChunks {
    private static final int SIZE = ReadAhead.THREADS * ReadAhead.OLD_CHUNKS;

    private final long[] addr = new long[SIZE];
    private final long[] len = new long[SIZE];
    private final int[] count = new int[ReadAhead.THREADS];
    private final boolean[] valid = new boolean[SIZE];
    private final MemorySegment[] buf = new MemorySegment[SIZE];
    private final int[] index = new int[SIZE];
    private final long[] nextAddr = new long[SIZE];
    private final long[] nextLen = new long[SIZE];
    private final int[] nextCount = new int[ReadAhead.THREADS];
    private final long[] carriedAddr = new long[SIZE];
    private final long[] carriedLen = new long[SIZE];
    private final int[] carriedCount = new int[ReadAhead.THREADS];

    void beginLook() {
        Arrays.fill(valid, false);
        Arrays.fill(nextCount, 0);
    }

    /** The index of the copy of the chunk at {@code address} read ahead for {@code slot}, or -1. */
    int find(int slot, long address) {
        if (slot < 0 || slot >= ReadAhead.THREADS) {
            return -1;
        }
        for (int q = 0; q < count[slot]; q++) {
            int k = slot * ReadAhead.OLD_CHUNKS + q;
            if (addr[k] == address) {
                return valid[k] ? k : -1;
            }
        }
        return -1;
    }

    MemorySegment buffer(int k) {
        return buf[k];
    }

    /** Bytes of the copy {@code k}. */
    long length(int k) {
        return len[k];
    }

    /** Remembers that {@code slot}'s walk used {@code used} bytes of the chunk at {@code address}. */
    void note(int slot, long address, long used) {
        if (slot >= 0 && nextCount[slot] < ReadAhead.OLD_CHUNKS) {
            int k = slot * ReadAhead.OLD_CHUNKS + nextCount[slot]++;
            nextAddr[k] = address;
            nextLen[k] = used;
        }
    }

    void queue(RemoteMemory memory, int threads, Arena arena) {
        for (int s = 0; s < threads; s++) {
            for (int q = 0; q < count[s]; q++) {
                int i = s * ReadAhead.OLD_CHUNKS + q;
                if (buf[i] == null || buf[i].byteSize() < len[i]) {
                    buf[i] = arena.allocate(Math.max(len[i], ReadAhead.MIN_CHUNK), 16);
                }
                index[i] = memory.pending() < RemoteMemory.MAX_IOV - ReadAhead.THREADS
                        ? memory.add(addr[i], buf[i], 0, len[i]) : Integer.MAX_VALUE;
            }
        }
    }

    void completed(int threads, int done) {
        for (int s = 0; s < threads; s++) {
            for (int q = 0; q < count[s]; q++) {
                int i = s * ReadAhead.OLD_CHUNKS + q;
                valid[i] = index[i] < done;
            }
        }
    }

    void carry(int fromSlot, int toSlot) {
        int n = fromSlot >= 0 ? nextCount[fromSlot] : 0;
        int from = Math.max(fromSlot, 0) * ReadAhead.OLD_CHUNKS;
        System.arraycopy(nextAddr, from, carriedAddr, toSlot * ReadAhead.OLD_CHUNKS, n);
        System.arraycopy(nextLen, from, carriedLen, toSlot * ReadAhead.OLD_CHUNKS, n);
        carriedCount[toSlot] = n;
    }

    void commit() {
        System.arraycopy(carriedAddr, 0, addr, 0, SIZE);
        System.arraycopy(carriedLen, 0, len, 0, SIZE);
        System.arraycopy(carriedCount, 0, count, 0, ReadAhead.THREADS);
    }
}
