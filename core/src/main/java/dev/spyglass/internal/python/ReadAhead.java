package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Speculative read-ahead: a steady target keeps the same interpreter, thread states, C frames,
 * data-stack chunks and code objects from one look to the next. The first call of a look therefore
 * also reads what lived at the previous look's addresses; each use checks that the address is still
 * the one the target points to now (read in this same look), else the reader reads it again. Steady
 * state: one {@code process_vm_readv} per look for a single-threaded 3.11+ target, instead of six.
 *
 * <p>Inputs: what the readers {@code note…} during a look, and the thread records handed to
 * {@link #remember} at its end. Outputs: after {@link #flush}, the look-ups ({@link #interpreter},
 * {@link #threadState}, {@link #chunk}, {@link #code}, …) answer whether a speculative copy of that
 * address was read in this look's first call. Threads are known by their slot: their position in the
 * first interpreter's thread list (a thread that moved position costs one read). Not thread-safe.
 */
final class ReadAhead implements AutoCloseable {
    static final int THREADS = 8;
    static final int CODES = 64;
    /** Code objects of earlier looks read ahead too, at most. */
    static final int CARRIED_CODES = 16;
    /** Older data-stack chunks (3.11+ deep stacks span several, linked by {@code previous}) per thread. */
    static final int OLD_CHUNKS = 8;
    private static final long CHUNK_MARGIN = 4096;
    static final long MIN_CHUNK = 16 << 10;
    // ≤3.10 frame objects of one stack mostly sit close together (obmalloc pools): read them as a few
    // merged ranges instead of one range each.
    static final long LEGACY_GAP = 2048;
    static final long LEGACY_MAX_RANGE = 256 << 10;

    private final RemoteMemory memory;
    private final Layout layout;
    private final Arena arena = Arena.ofShared();
    private final ReaderSpans spans;
    private final boolean linkedFrames;
    private final boolean hasCframe;

    /** Run once after the next flush that read ahead (see {@link #afterFlush}); null for none. */
    private Runnable afterFlush;
    /** Run once after the code headers that {@link #afterFlush} put after it have been read; null for none. */
    private Runnable afterCodes;

    private long interp;
    private long gil;
    private boolean interpValid;
    private boolean gilValid;
    private final MemorySegment interpBuf;
    private final MemorySegment gilBuf;

    private int threads;
    private final long[] tstate = new long[THREADS];
    private final long[] cframe = new long[THREADS];
    private final long[] chunk = new long[THREADS];
    private final long[] chunkLen = new long[THREADS];
    private final boolean[] tstateValid = new boolean[THREADS];
    private final boolean[] cframeValid = new boolean[THREADS];
    private final boolean[] chunkValid = new boolean[THREADS];
    private final MemorySegment tstateBuf;
    private final MemorySegment cframeBuf;
    private final MemorySegment[] chunkBuf = new MemorySegment[THREADS];

    private final ReadAheadFrames frames;
    private final ReadAheadChunks oldChunks;
    private final ReadAheadThreadStates moreThreadStates;

    private int codeCount;
    private final long[] codes = new long[CODES];
    private final boolean[] codeValid = new boolean[CODES];
    private final MemorySegment codeBuf;
    private final long[] nextCodes = new long[CODES];
    private int nextCodeCount;

    private final int[] tstateIndex = new int[THREADS];
    /** Where {@link #queueAll} put the interpreter, the GIL and the first code header in the batch; headers queued. */
    private int interpLast;
    private int gilLast;
    private int codeFirst;
    private int queuedCodes;
    private final int[] cframeIndex = new int[THREADS];
    private final int[] chunkIndex = new int[THREADS];

    ReadAhead(RemoteMemory memory, Layout layout, ReaderSpans spans, boolean linkedFrames) {
        this.memory = memory;
        this.layout = layout;
        this.spans = spans;
        this.linkedFrames = linkedFrames;
        this.hasCframe = layout.has(Field.TSTATE_CFRAME);
        // ≤3.10 frames are heap objects, one read each: speculating them saves a call per frame. 3.11+: the
        // frames outside the chunks, one per C-level call of the evaluation loop (3.12+ shims) and per running
        // generator; the replay images' main thread, in threading's join, has 6 on 3.14 (4 cost 3 reads a look).
        this.frames = new ReadAheadFrames(linkedFrames ? 128 : 8);
        this.oldChunks = new ReadAheadChunks();
        this.moreThreadStates = new ReadAheadThreadStates(spans.tstate(), arena);
        interpBuf = arena.allocate(spans.interp().bufferSize(), 8);
        gilBuf = arena.allocate(Math.max(spans.gil().bufferSize(), 8), 8);
        tstateBuf = arena.allocate((long) spans.tstate().bufferSize() * THREADS, 8);
        cframeBuf = arena.allocate(8L * THREADS, 8);
        codeBuf = arena.allocate((long) spans.codeStride() * CODES, 16);
        frames.allocate(arena, spans.frame().bufferSize());
    }

    // ---- look-ups, valid after flush ----

    /** The first interpreter's struct read ahead, or null. */
    MemorySegment interpreter(long address) {
        return address == interp && interpValid ? interpBuf : null;
    }

    /** The first interpreter's GIL struct (3.12+) read ahead, or null. */
    MemorySegment gil(long address) {
        return address == gil && gilValid ? gilBuf : null;
    }

    /**
     * Where the thread state at list position {@code slot} of the first interpreter was read ahead in
     * {@link #threadStates(int)}, or -1.
     */
    long threadState(int slot, long address) {
        if (slot >= THREADS) {
            return moreThreadStates.threadState(slot, address);
        }
        return slot >= 0 && slot < threads && tstate[slot] == address && tstateValid[slot]
                ? (long) slot * spans.tstate().bufferSize() : -1;
    }

    /** See {@link ReadAheadThreadStates#idleThreads}: thread states of idle threads past the first eight keep their copies. */
    void idleThreads(java.util.function.LongPredicate idle) {
        moreThreadStates.idleThreads(idle);
    }

    /** Thread states past the first eight whose copy stood for a read, so far. */
    long threadStatesKept() {
        return moreThreadStates.kept();
    }

    /** The buffer {@link #threadState} points into for {@code slot}. */
    MemorySegment threadStates(int slot) {
        return slot >= THREADS ? moreThreadStates.buffer() : tstateBuf;
    }

    /** 3.11 (cframe): whether {@code cframe->current_frame} of {@code slot} was read ahead. */
    boolean hasCurrentFrame(int slot, long cframeAddress) {
        return hasCframe && slot >= 0 && slot < threads && cframeValid[slot] && cframe[slot] == cframeAddress;
    }

    long currentFrame(int slot) {
        return cframeBuf.get(ValueLayout.JAVA_LONG, 8L * slot);
    }

    /** The copy of {@code [chunkAddress, top)} of {@code slot}'s data-stack chunk, or null. */
    MemorySegment chunk(int slot, long chunkAddress, long top) {
        boolean hit = slot >= 0 && slot < threads && chunkValid[slot] && chunk[slot] == chunkAddress
                && top > chunkAddress && top - chunkAddress <= chunkLen[slot];
        return hit ? chunkBuf[slot] : null;
    }

    ReadAheadFrames frames() {
        return frames;
    }

    ReadAheadChunks oldChunks() {
        return oldChunks;
    }

    /** The slot of the code object header read ahead at {@code address} (in {@link #codes()}), or -1. */
    int code(long address) {
        for (int q = 0; q < codeCount; q++) {
            if (codes[q] == address && codeValid[q]) {
                return q;
            }
        }
        return -1;
    }

    MemorySegment codes() {
        return codeBuf;
    }

    /** Remembers a code object this look used, to read its header ahead next time. */
    void noteCode(long address) {
        if (nextCodeCount >= CODES) {
            return;
        }
        for (int q = 0; q < nextCodeCount; q++) {
            if (nextCodes[q] == address) {
                return;
            }
        }
        nextCodes[nextCodeCount++] = address;
    }

    // ---- the look's first call ----

    /**
     * Flushes the {@code expected} ranges already queued together with the reads ahead of what the
     * previous look found, and marks which of those completed.
     *
     * @return how many of the {@code expected} ranges were read
     */
    int flush(int expected) throws SpyglassException {
        interpValid = false;
        gilValid = false;
        Arrays.fill(tstateValid, false);
        Arrays.fill(cframeValid, false);
        Arrays.fill(chunkValid, false);
        Arrays.fill(codeValid, false);
        frames.beginLook();
        oldChunks.beginLook();
        nextCodeCount = 0;
        if (interp == 0) {
            int done = memory.flush();
            moreThreadStates.read(memory);
            return done;
        }
        // Held threads (native frames) wait for the first read only: the code headers, which do not change under a
        // running thread, are read after their release, in a read of their own. A held 3.12 look of 13 ranges took
        // 9 µs at 1 kHz and 19 µs at 100 Hz, 8 of its ranges code headers (each range a page walk of its own).
        boolean codesAfter = afterFlush != null;
        queueAll(!codesAfter);
        int done = memory.flush();
        interpValid = interpLast < done;
        gilValid = gilLast >= 0 && gilLast < done;
        for (int k = 0; k < threads; k++) {
            tstateValid[k] = tstateIndex[k] < done;
            cframeValid[k] = cframeIndex[k] >= 0 && cframeIndex[k] < done;
            chunkValid[k] = chunkIndex[k] >= 0 && chunkIndex[k] < done;
        }
        frames.completed(threads, done);
        oldChunks.completed(threads, done);
        moreThreadStates.read(memory);
        int codesDone = done;
        if (codesAfter) {
            Runnable r = afterFlush;
            afterFlush = null;
            r.run();
            queueCodes();
            codesDone = memory.flush();
            if (afterCodes != null) {
                Runnable c = afterCodes;
                afterCodes = null;
                c.run();
            }
        }
        int codeRanges = spans.code().ranges();
        for (int j = 0; j < queuedCodes; j++) {
            codeValid[j] = codeFirst + (j + 1) * codeRanges - 1 < codesDone;
        }
        return Math.min(done, expected);
    }

    /** Queues what the previous look found, in the order {@link #flush} explains; the ranges' indexes in fields. */
    private void queueAll(boolean codes) {
        spans.interp().queue(memory, interp, interpBuf);
        interpLast = memory.pending() - 1;
        gilLast = -1;
        if (gil != 0 && spans.gil().ranges() > 0) {
            spans.gil().queue(memory, gil, gilBuf);
            gilLast = memory.pending() - 1;
        }
        queueThreadStates();
        if (linkedFrames) {
            frames.queueMerged(memory, spans.frame(), threads, arena);
        } else {
            int budget = (RemoteMemory.MAX_IOV - 64 - CODES - memory.pending()) / Math.max(1, spans.frame().ranges());
            frames.queueEach(memory, spans.frame(), threads, budget);
        }
        oldChunks.queue(memory, threads, arena);
        queueChunks();
        if (codes) {
            queueCodes();
        }
    }

    /**
     * Code headers last, after every frame they may serve (CodeResolver#resolve): the kernel copies the ranges in
     * order, so a frame copied before runs a code object that was at its address when its header is copied, or the
     * frame has ended (the same race as reading a frame, then its code). Headers first would let a frame made after
     * them (a module's code run at the address of a freed one) meet the old header. In a read after the frames'
     * (held threads) the same holds.
     */
    private void queueCodes() {
        codeFirst = memory.pending();
        int codeRanges = spans.code().ranges();
        queuedCodes = Math.max(0, Math.min(codeCount,
                (RemoteMemory.MAX_IOV - memory.pending()) / Math.max(1, codeRanges)));
        for (int j = 0; j < queuedCodes; j++) {
            spans.code().queue(memory, codes[j], codeBuf, (long) j * spans.codeStride());
        }
    }

    /**
     * Reads, and throws away, what the previous look found: the same ranges as the next {@link #flush}, into the same
     * buffers. Run right before threads are stopped after a long idle time (≥ 100 Hz sampling), it brings the
     * target's page tables, these buffers and this code back into the caches, so the read made while the threads are
     * held takes less of their time (a cold read at 100 Hz took 3 – 5 times as long as at 1 kHz). Nothing is marked
     * valid: the flush reads again.
     */
    void warm() throws SpyglassException {
        if (interp == 0 || memory.pending() != 0) {
            return;
        }
        queueAll(true);
        memory.flush();
    }

    /**
     * Sets what to run right after the next flush that reads ahead of a previous look, once, and what to run once
     * that look's code headers, then read in a flush of their own, have been read too: from then on a look served by
     * its copies reads nothing of the target (see {@link Target#afterSnapshot}). A look with nothing to read ahead
     * (the first) runs neither; null clears both.
     */
    void afterFlush(Runnable r, Runnable afterCodesRead) {
        afterFlush = r;
        afterCodes = r == null ? null : afterCodesRead;
    }

    private void queueThreadStates() {
        int tsSize = spans.tstate().bufferSize();
        for (int k = 0; k < threads; k++) {
            spans.tstate().queue(memory, tstate[k], tstateBuf, (long) k * tsSize);
            tstateIndex[k] = memory.pending() - 1;
            cframeIndex[k] = -1;
            if (hasCframe && cframe[k] != 0) {
                cframeIndex[k] = memory.add(cframe[k] + layout.require(Field.CFRAME_CURRENT_FRAME), cframeBuf, 8L * k, 8);
            }
        }
    }

    private void queueChunks() {
        for (int k = 0; k < threads; k++) {
            chunkIndex[k] = -1;
            if (chunk[k] != 0 && chunkLen[k] > 0) {
                if (chunkBuf[k] == null || chunkBuf[k].byteSize() < chunkLen[k]) {
                    chunkBuf[k] = arena.allocate(Math.max(chunkLen[k], MIN_CHUNK), 16);
                }
                chunkIndex[k] = memory.add(chunk[k], chunkBuf[k], 0, chunkLen[k]);
            }
        }
    }

    // ---- the look's end ----

    /** What to read ahead at the next look: the addresses of this look. */
    void remember(ThreadRecord[] records, int count, long firstInterp, long firstGil) {
        interp = firstInterp;
        gil = firstGil;
        int k = 0;
        moreThreadStates.beginRemember();
        for (int i = 0; i < count; i++) {
            ThreadRecord r = records[i];
            if (!r.firstInterpreter || r.tstate == 0) {
                continue;
            }
            if (k >= THREADS) {
                moreThreadStates.remember(r.tstate, r.torn ? -1 : r.nativeThreadId);
                continue;
            }
            tstate[k] = r.tstate;
            cframe[k] = hasCframe ? r.topFrame : 0;
            chunk[k] = r.torn ? 0 : r.datastackChunk;
            long used = r.datastackTop - r.datastackChunk;
            // top and chunk come from the target and may disagree (a torn read, or CPython between
            // updating the two): an implausible span reads nothing ahead. With the chunk's size
            // unknown, read exactly what is used (the margin could run past the chunk's mapping).
            boolean plausible = used > 0 && used <= ChunkFrameWalker.MAX_CHUNK_BYTES;
            chunkLen[k] = !plausible ? 0 : r.chunkSize > 0 ? Math.min(used + CHUNK_MARGIN, r.chunkSize) : used;
            frames.carry(r.specSlot, k);
            oldChunks.carry(r.specSlot, k);
            k++;
        }
        threads = k;
        frames.commit();
        oldChunks.commit();
        carryCodes();
        System.arraycopy(nextCodes, 0, codes, 0, nextCodeCount);
        codeCount = nextCodeCount;
        // The buffer still holds this look's headers, in the old order: until the next look reads them, no
        // code object is read ahead (code objects resolved between looks, of asyncio tasks' coroutines, read
        // their own headers rather than another's).
        Arrays.fill(codeValid, false);
    }

    /**
     * Keeps, after this look's code objects, up to {@link #CARRIED_CODES} of the previous looks' that were
     * read fine this time: a thread that goes back and forth between two calls (a loop and the key function
     * that {@code sorted} calls) then finds both read ahead, and a look of held threads for native frames
     * needs no read after the first (see {@link Target#afterSnapshot}). One that could not be read is
     * dropped: a failed range stops the kernel there, and the headers queued after it would go unread.
     */
    private void carryCodes() {
        int carried = 0;
        for (int q = 0; q < codeCount && nextCodeCount < CODES && carried < CARRIED_CODES; q++) {
            if (!codeValid[q]) {
                continue;
            }
            boolean fresh = false;
            for (int j = 0; j < nextCodeCount && !fresh; j++) {
                fresh = nextCodes[j] == codes[q];
            }
            if (!fresh) {
                nextCodes[nextCodeCount++] = codes[q];
                carried++;
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
