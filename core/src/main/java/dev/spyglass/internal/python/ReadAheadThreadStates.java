package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.LongPredicate;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
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
    /** The host TID of each remembered thread (-1 unknown): what {@link #idle} is asked about. */
    private long[] tid = new long[0];
    /** The thread state whose copy position {@code i} of the buffer holds (0: none), kept from look to look. */
    private long[] copied = new long[0];
    /** When the copy at each position was read ({@link System#nanoTime}): kept at most {@link StackReader#MAX_TAKEOVER_NANOS}. */
    private long[] readAt = new long[0];
    private long now;
    private boolean[] valid = new boolean[0];
    /** This look's answer of {@link #idle} per position. */
    private boolean[] idleNow = new boolean[0];
    /** Positions queued in the call under way. */
    private int[] queued = new int[0];
    private int count;
    private MemorySegment buffer;
    /** Whether a thread (host TID) provably has not run since the previous look; null: every state is read. */
    private LongPredicate idle;
    private long kept;

    ReadAheadThreadStates(StructSpans spans, Arena arena) {
        this.spans = spans;
        this.arena = arena;
    }

    /**
     * From now, a thread state whose thread {@code idle} proves has not run since the previous look keeps its copy
     * instead of being read again (see {@link #read}).
     */
    void idleThreads(LongPredicate idle) {
        this.idle = idle;
    }

    /** Thread states whose previous copy stood for a read (tests, benchmarks). */
    long kept() {
        return kept;
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

    /** Remembers the thread state at the next position, and its thread's host TID (-1 when unknown). */
    void remember(long tstate, long hostTid) {
        if (count >= MAX) {
            return;
        }
        if (count == address.length) {
            int n = Math.min(MAX, Math.max(16, count * 2));
            address = Arrays.copyOf(address, n);
            tid = Arrays.copyOf(tid, n);
            copied = Arrays.copyOf(copied, n);
            readAt = Arrays.copyOf(readAt, n);
            valid = new boolean[n];
            idleNow = new boolean[n];
            queued = new int[n];
        }
        tid[count] = hostTid;
        address[count++] = tstate;
    }

    /**
     * Reads every remembered thread state, {@code MAX_IOV} ranges per call; marks which were read. With
     * {@link #idleThreads}, a thread state is not read again when its copy is still the one in memory: its thread
     * has not run since the previous look (only the thread itself writes where its frames are and its ids), and the
     * one word others write, {@code next}, still points where it did. Others write it when they unlink the thread
     * after it (CPython 2.7 - 3.15 {@code tstate_delete_common}: {@code prev->next = next}), and that thread runs to
     * do so (a thread deletes its own state when it ends): so the copy is kept only while the next thread is proven
     * idle too and is the one the copy points to. New threads go to the head of the list, which moves every
     * position (their addresses no longer match their copies). A server's 200 waiting threads then cost no read at
     * all in most looks, instead of one range each.
     */
    void read(RemoteMemory memory) throws SpyglassException {
        Arrays.fill(valid, false);
        if (count == 0) {
            return;
        }
        int size = spans.bufferSize();
        if (buffer == null || buffer.byteSize() < (long) size * count) {
            buffer = arena.allocate((long) size * address.length, 8);
            Arrays.fill(copied, 0);
        }
        LongPredicate proof = idle;
        now = System.nanoTime();
        for (int i = 0; i < count; i++) {
            idleNow[i] = proof != null && tid[i] > 0 && proof.test(tid[i]);
        }
        int ranges = Math.max(1, spans.ranges());
        int perCall = Math.max(1, RemoteMemory.MAX_IOV / ranges);
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (keepsCopy(i, size)) {
                valid[i] = true;
                kept++;
                continue;
            }
            copied[i] = 0;
            spans.queue(memory, address[i], buffer, (long) i * size);
            queued[n++] = i;
            if (n == perCall) {
                flush(memory, n, ranges);
                n = 0;
            }
        }
        if (n > 0) {
            flush(memory, n, ranges);
        }
    }

    private boolean keepsCopy(int i, long size) {
        if (!idleNow[i] || copied[i] != address[i] || address[i] == 0
                || now - readAt[i] >= StackReader.MAX_TAKEOVER_NANOS) {
            return false;
        }
        long next = spans.getLong(buffer, i * size, Field.TSTATE_NEXT);
        // The last remembered thread: its copy must end the list (more threads than MAX: read it).
        return i + 1 < count ? next == address[i + 1] && idleNow[i + 1] : next == 0;
    }

    private void flush(RemoteMemory memory, int n, int ranges) throws SpyglassException {
        // The kernel stops at the first range not mapped (a thread that ended): those after it are read
        // again while walking the list.
        int done = memory.flush() / ranges;
        for (int k = 0; k < done; k++) {
            valid[queued[k]] = true;
            copied[queued[k]] = address[queued[k]];
            readAt[queued[k]] = now;
        }
    }
}
