package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The thread states of the first interpreter's threads past the first {@link ReadAhead#THREADS}, read ahead
 * by their previous look's addresses in as few calls as the kernel's vector limit allows ({@code MAX_IOV}
 * ranges each), instead of one {@code process_vm_readv} per thread while walking the list: a server's pool of
 * 200 threads costs one call for all their thread states, not 200. Only the thread states: the stacks of
 * threads that did not run since the previous look are taken over without reading them ({@link StackReader}),
 * and those that ran are read as before. Each use checks its address, as every read ahead does. Not thread-safe.
 */
final class ReadAheadThreadStates {
    /** Thread states read ahead past the first {@link ReadAhead#THREADS}; later threads are read one by one. */
    static final int MAX = 4096 - ReadAhead.THREADS;

    private final StructSpans spans;
    private final Arena arena;
    private long[] address = new long[0];
    private boolean[] valid = new boolean[0];
    private int count;
    private MemorySegment buffer;

    ReadAheadThreadStates(StructSpans spans, Arena arena) {
        this.spans = spans;
        this.arena = arena;
    }

    /** Where the thread state of list position {@code slot} (≥ {@link ReadAhead#THREADS}) was read, or -1. */
    long threadState(int slot, long tstate) {
        int i = slot - ReadAhead.THREADS;
        return i >= 0 && i < count && valid[i] && address[i] == tstate ? (long) i * spans.bufferSize() : -1;
    }

    MemorySegment buffer() {
        return buffer;
    }

    /** Starts remembering a look's addresses (positions past {@link ReadAhead#THREADS}, in list order). */
    void beginRemember() {
        // Until the next read, nothing is read ahead (the buffer holds the previous addresses' copies).
        Arrays.fill(valid, false);
        count = 0;
    }

    void remember(long tstate) {
        if (count >= MAX) {
            return;
        }
        if (count == address.length) {
            int n = Math.min(MAX, Math.max(16, count * 2));
            address = Arrays.copyOf(address, n);
            valid = new boolean[n];
        }
        address[count++] = tstate;
    }

    /** Reads every remembered thread state, {@code MAX_IOV} ranges per call; marks which were read. */
    void read(RemoteMemory memory) throws SpyglassException {
        Arrays.fill(valid, false);
        if (count == 0) {
            return;
        }
        int size = spans.bufferSize();
        if (buffer == null || buffer.byteSize() < (long) size * count) {
            buffer = arena.allocate((long) size * address.length, 8);
        }
        int ranges = Math.max(1, spans.ranges());
        int perCall = Math.max(1, RemoteMemory.MAX_IOV / ranges);
        for (int first = 0; first < count; first += perCall) {
            int n = Math.min(perCall, count - first);
            for (int i = 0; i < n; i++) {
                spans.queue(memory, address[first + i], buffer, (long) (first + i) * size);
            }
            // The kernel stops at the first range not mapped (a thread that ended): those after it are read
            // again while walking the list.
            int done = memory.flush() / ranges;
            for (int i = 0; i < done; i++) {
                valid[first + i] = true;
            }
        }
    }
}
