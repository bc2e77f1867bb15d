package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadState;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.LineTable;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.StringDecoder;
import dev.spyglass.cpython.abi.StringHeader;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;
import dev.spyglass.internal.os.TaskStates;

/**
 * Reads every thread of every interpreter of a target, and each thread's Python frames, into reused
 * {@link ThreadRecord}s. The interpreter list is re-read on every look, so sub-interpreters created
 * after attach are seen.
 *
 * <p>Cost per look (3.11+): one call for the runtime words, one per interpreter, one per thread
 * state, one for the thread's data-stack chunk (all its frames are then walked locally; frames
 * outside the chunk, e.g. of generators, cost one call each), one for the headers of the distinct
 * code objects of the thread. Code objects are decoded once and cached by address; a cached entry is
 * used only while its header words (type, name, qualified name, file name, line table, first line,
 * flags, argument count) still match what the target holds at that address.
 *
 * <p>Torn reads (the target changed while we read) are detected, never papered over: a bounded depth,
 * a cycle check, every pointer read through the kernel (unmapped memory fails the read), code objects
 * must have the code type, instruction pointers must lie inside their code, and names must decode.
 * A torn thread is marked {@link ThreadRecord#torn()} and carries no frames.
 *
 * <p>Not thread-safe.
 */
public final class StackReader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StackReader.class);

    /** Deeper stacks are taken for a cycle or garbage (CPython's default recursion limit is 1000). */
    public static final int MAX_DEPTH = 8192;
    static final int MAX_THREADS = 4096;
    static final int MAX_INTERPRETERS = 256;
    static final long MAX_CHUNK_BYTES = 64L << 20;
    static final int MAX_STRING_CHARS = 4096;
    static final int MAX_LINETABLE_BYTES = 1 << 20;
    static final int STRING_PREFIX = 256;
    // Per-thread bytecode indexes are small integers handed out per live thread (3.14t index pool).
    private static final int MAX_TLBC_INDEX = 1 << 16;
    static final int MAX_CODE_CACHE = 1 << 16;

    private final long pid;
    private final RemoteMemory memory;
    private final LocatedInterpreter loc;
    private final Layout layout;
    private final PythonVersion version;
    private final TaskStates tasks;
    private final boolean frames311;
    private final boolean hasCframe;
    private final boolean skipNonCode;
    private final long tagMask;
    private final long firstNonPythonOwner;
    private final long codeAdaptive;

    private final StructSpans interpSpans;
    private final StructSpans tstateSpans;
    private final StructSpans frameSpans;
    private final StructSpans codeSpans;
    private final StructSpans gilSpans;
    private final Field[] codeKeyFields;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment runtimeBuf;
    private final MemorySegment interpBuf;
    private final MemorySegment tstateBuf;
    private final MemorySegment frameBuf;
    private final MemorySegment gilBuf;
    private final MemorySegment wordBuf;
    private final MemorySegment stringBuf;
    private MemorySegment chunkBuf;
    private MemorySegment codeBuf;
    private final int codeStride;

    private final StringDecoder strings;
    private final LongMap<CodeEntry> codeCache = new LongMap<>(1024);
    private final LongMap<Boolean> codeTypes = new LongMap<>(16);
    private long codeType;

    private ThreadRecord[] records = new ThreadRecord[8];
    private int count;

    // Per-walk scratch (reused).
    private long[] frameCode = new long[256];
    private long[] frameInstr = new long[256];
    // 3.14t: the frame's tlbc_index (which per-thread copy of the bytecode instr_ptr points into).
    private int[] frameTlbc = new int[256];
    private long[] distinct = new long[64];
    private CodeEntry[] distinctEntry = new CodeEntry[64];
    private boolean[] distinctSkip = new boolean[64];
    private int[] distinctSpecSlot = new int[64];
    private final long[] keyWords;
    private final boolean[] codeKeyInt;
    private final VisitedSet visited = new VisitedSet();
    private long pthreadTidOffset = -1;
    private long lastCalibration;

    /** Monotonic counters for tests and diagnostics. */
    private long codeDecodes;

    // ---- speculation ----
    // A steady target keeps the same interpreter, thread states, C frames, data-stack chunks and code
    // objects from one look to the next. The first call of a look therefore also reads what lived at
    // the previous look's addresses; each use checks that the address is still the one the target
    // points to now (read in this same look), else reads it again. Steady state: one
    // process_vm_readv per look for a single-threaded 3.11+ target, instead of six.
    private static final int SPEC_THREADS = 8;
    private static final int SPEC_CODES = 64;
    private static final long CHUNK_MARGIN = 4096;
    private long specInterp;
    private long specGil;
    private int specThreads;
    private final long[] specTstate = new long[SPEC_THREADS];
    private final long[] specCframe = new long[SPEC_THREADS];
    private final long[] specChunk = new long[SPEC_THREADS];
    private final long[] specChunkLen = new long[SPEC_THREADS];
    private int specCodeCount;
    private final long[] specCodes = new long[SPEC_CODES];
    private boolean interpSpecValid;
    private boolean gilSpecValid;
    private final boolean[] tstateSpecValid = new boolean[SPEC_THREADS];
    private final boolean[] cframeSpecValid = new boolean[SPEC_THREADS];
    private final boolean[] chunkSpecValid = new boolean[SPEC_THREADS];
    private final boolean[] codeSpecValid = new boolean[SPEC_CODES];
    private MemorySegment specInterpBuf;
    private MemorySegment specGilBuf;
    private MemorySegment specTstateBuf;
    private MemorySegment specCframeBuf;
    private final MemorySegment[] specChunkBuf = new MemorySegment[SPEC_THREADS];
    private MemorySegment specCodeBuf;
    private final long[] nextCodes = new long[SPEC_CODES];
    /**
     * Frames outside the data-stack chunk (3.12+: the entry frame of each evaluation loop lives on
     * the C stack; generator frames live in their generator) seen per thread slot.
     */
    private final int specFramesPerThread;
    private final long[] specFrames;
    private final int[] specFrameCount = new int[SPEC_THREADS];
    private final boolean[] frameSpecValid;
    private final long[] nextFrames;
    private final int[] nextFrameCount = new int[SPEC_THREADS];
    private MemorySegment specFrameBuf;

    // Older data-stack chunks of the thread being walked (3.11+: a deep stack spans several 16 KiB
    // chunks linked by `previous`): each is copied in one read when the walk first reaches it.
    private static final int MAX_OLD_CHUNKS = 64;
    private static final int SPEC_OLD_CHUNKS = 8;
    private static final long MIN_CHUNK = 16 << 10;
    private final long[] oldChunkAddr = new long[MAX_OLD_CHUNKS];
    private final long[] oldChunkLen = new long[MAX_OLD_CHUNKS];
    private final MemorySegment[] oldChunkBuf = new MemorySegment[MAX_OLD_CHUNKS];
    private final MemorySegment[] oldChunkOwnBuf = new MemorySegment[MAX_OLD_CHUNKS];
    private int oldChunks;
    private long oldChunkNext;
    private final long[] specOldAddr = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final long[] specOldLen = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final int[] specOldCount = new int[SPEC_THREADS];
    private final boolean[] specOldValid = new boolean[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final MemorySegment[] specOldBuf = new MemorySegment[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final int[] specOldIndex = new int[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final long[] nextOldAddr = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final long[] nextOldLen = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final int[] nextOldCount = new int[SPEC_THREADS];
    private int nextCodeCount;

    public StackReader(long pid, RemoteMemory memory, LocatedInterpreter loc, TaskStates tasks) {
        this.pid = pid;
        this.memory = memory;
        this.loc = loc;
        this.layout = loc.layout();
        this.version = loc.version();
        this.tasks = tasks;
        this.frames311 = version.isAtLeast(3, 11);
        this.hasCframe = layout.has(Field.TSTATE_CFRAME);
        this.skipNonCode = version.isAtLeast(3, 13);
        this.tagMask = layout.has(Field.CONST_STACKREF_TAG_MASK) ? layout.offset(Field.CONST_STACKREF_TAG_MASK) : 0;
        this.firstNonPythonOwner = layout.has(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)
                ? layout.offset(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)
                : layout.has(Field.CONST_FRAME_OWNED_BY_CSTACK) ? layout.offset(Field.CONST_FRAME_OWNED_BY_CSTACK)
                        : Long.MAX_VALUE;
        this.codeAdaptive = layout.has(Field.CODE_CODE_ADAPTIVE) ? layout.offset(Field.CODE_CODE_ADAPTIVE) : -1;
        this.codeType = loc.codeTypeAddress();
        // ≤3.10 frames are heap objects, one read each: speculating them saves a call per frame.
        this.specFramesPerThread = frames311 ? 4 : 128;
        this.specFrames = new long[SPEC_THREADS * specFramesPerThread];
        this.frameSpecValid = new boolean[SPEC_THREADS * specFramesPerThread];
        this.nextFrames = new long[SPEC_THREADS * specFramesPerThread];
        this.specIndex4 = new int[SPEC_THREADS * specFramesPerThread];
        this.specFramesTmp = new long[SPEC_THREADS * specFramesPerThread];

        interpSpans = StructSpans.of(layout, Field.INTERP_NEXT, Field.INTERP_TSTATE_HEAD, Field.INTERP_ID,
                Field.INTERP_GIL_PTR);
        tstateSpans = StructSpans.of(layout, Field.TSTATE_NEXT, Field.TSTATE_INTERP, Field.TSTATE_FRAME,
                Field.TSTATE_CFRAME, Field.TSTATE_CURRENT_FRAME, Field.TSTATE_THREAD_ID, Field.TSTATE_NATIVE_THREAD_ID,
                Field.TSTATE_DATASTACK_CHUNK, Field.TSTATE_DATASTACK_TOP);
        frameSpans = frames311
                ? StructSpans.of(layout, Field.IFRAME_PREVIOUS, Field.IFRAME_EXECUTABLE, Field.IFRAME_INSTR_PTR,
                        Field.IFRAME_OWNER, Field.IFRAME_TLBC_INDEX)
                : StructSpans.of(layout, Field.FRAME_BACK, Field.FRAME_CODE, Field.FRAME_LASTI);
        codeKeyFields = new Field[] {Field.OBJECT_TYPE, Field.CODE_NAME, Field.CODE_QUALNAME, Field.CODE_FILENAME,
            Field.CODE_LINETABLE, Field.CODE_FIRSTLINENO, Field.CODE_FLAGS, Field.CODE_ARGCOUNT, Field.VAROBJECT_SIZE};
        codeSpans = StructSpans.of(layout, codeKeyFields);
        gilSpans = StructSpans.of(layout, Field.GIL_LOCKED, Field.GIL_LAST_HOLDER);
        keyWords = new long[codeKeyFields.length];
        codeKeyInt = new boolean[codeKeyFields.length];
        for (int k = 0; k < codeKeyFields.length; k++) {
            codeKeyInt[k] = StructSpans.width(codeKeyFields[k]) == 4;
        }

        runtimeBuf = arena.allocate(64, 8);
        interpBuf = arena.allocate(interpSpans.bufferSize(), 8);
        tstateBuf = arena.allocate(tstateSpans.bufferSize(), 8);
        frameBuf = arena.allocate(frameSpans.bufferSize(), 8);
        gilBuf = arena.allocate(Math.max(gilSpans.bufferSize(), 8), 8);
        wordBuf = arena.allocate(8, 8);
        stringBuf = arena.allocate(STRING_PREFIX, 8);
        chunkBuf = arena.allocate(frames311 ? 64 << 10 : 8, 16);
        codeStride = (codeSpans.bufferSize() + 15) & ~15;
        codeBuf = arena.allocate((long) codeStride * 64, 16);
        strings = new StringDecoder(layout, MAX_STRING_CHARS);
        specInterpBuf = arena.allocate(interpSpans.bufferSize(), 8);
        specGilBuf = arena.allocate(Math.max(gilSpans.bufferSize(), 8), 8);
        specTstateBuf = arena.allocate((long) tstateSpans.bufferSize() * SPEC_THREADS, 8);
        specCframeBuf = arena.allocate(8L * SPEC_THREADS, 8);
        specCodeBuf = arena.allocate((long) codeStride * SPEC_CODES, 16);
        specFrameBuf = arena.allocate((long) frameSpans.bufferSize() * SPEC_THREADS * specFramesPerThread, 8);
    }

    public PythonVersion version() {
        return version;
    }

    public LocatedInterpreter interpreter() {
        return loc;
    }

    /** Code objects decoded so far (a steady state decodes none). */
    public long codeDecodes() {
        return codeDecodes;
    }

    /** Threads read by the latest {@link #read}. */
    public int count() {
        return count;
    }

    public ThreadRecord thread(int i) {
        return records[i];
    }

    private ThreadRecord nextRecord() {
        if (count == records.length) {
            records = java.util.Arrays.copyOf(records, count * 2);
        }
        ThreadRecord r = records[count];
        if (r == null) {
            r = new ThreadRecord();
            records[count] = r;
        }
        r.reset();
        count++;
        return r;
    }

    /**
     * Reads all threads. With {@code runningOnly}, threads the kernel does not show running (and whose
     * TID is unknown and that do not hold the GIL) are marked skipped and not walked.
     *
     * @return the number of thread records filled
     * @throws dev.spyglass.ProcessGoneException the process has exited
     */
    public int read(boolean runningOnly) throws SpyglassException {
        count = 0;
        // Runtime words: the interpreter list head, and where the version keeps it, the GIL holder.
        long gilLockedAddr = 0;
        long gilHolderAddr = 0;
        if (loc.runtimeAddress() != 0 && layout.has(Field.RUNTIME_GIL_LOCKED) && layout.has(Field.RUNTIME_GIL_LAST_HOLDER)) {
            gilLockedAddr = loc.runtimeAddress() + layout.offset(Field.RUNTIME_GIL_LOCKED);
            gilHolderAddr = loc.runtimeAddress() + layout.offset(Field.RUNTIME_GIL_LAST_HOLDER);
        }
        memory.add(loc.headAddress(), runtimeBuf, 0, 8);
        int expected = 1;
        if (gilLockedAddr != 0) {
            memory.add(gilLockedAddr, runtimeBuf, 8, 4);
            memory.add(gilHolderAddr, runtimeBuf, 16, 8);
            expected = 3;
        } else if (loc.tstateCurrentAddress() != 0) {
            memory.add(loc.tstateCurrentAddress(), runtimeBuf, 16, 8);
            runtimeBuf.set(ValueLayout.JAVA_INT, 8, 1);
            expected = 2;
        }
        int done = flushWithSpeculation(expected);
        if (done < expected) {
            throw new SpyglassException("process " + pid + ": cannot read the interpreter list at 0x"
                    + Long.toHexString(loc.headAddress()) + " in " + loc.objectPath());
        }
        long interp = runtimeBuf.get(ValueLayout.JAVA_LONG, 0);
        boolean runtimeGil = expected > 1;
        boolean gilLocked = runtimeGil && runtimeBuf.get(ValueLayout.JAVA_INT, 8) != 0;
        long gilHolder = runtimeGil ? runtimeBuf.get(ValueLayout.JAVA_LONG, 16) : 0;

        int interps = 0;
        long firstInterp = interp;
        long firstGil = 0;
        nextCodeCount = 0;
        while (interp != 0 && interps < MAX_INTERPRETERS) {
            if (seenInterp(interp, interps)) {
                // A list that loops (garbage, or a torn read of a list being changed): each thread once.
                ThreadRecord r = nextRecord();
                r.tear("interpreter list loops back to 0x" + Long.toHexString(interp));
                break;
            }
            seenInterps[interps++] = interp;
            boolean first = interps == 1;
            MemorySegment ib = interpBuf;
            if (first && interp == specInterp && interpSpecValid) {
                ib = specInterpBuf;
            } else {
                interpSpans.queue(memory, interp, interpBuf);
                if (memory.flush() != interpSpans.ranges()) {
                    // The interpreter was freed while we read: the rest of the list is unknown.
                    ThreadRecord r = nextRecord();
                    r.tear("interpreter at 0x" + Long.toHexString(interp) + " unreadable");
                    break;
                }
            }
            long next = interpSpans.getLong(ib, Field.INTERP_NEXT);
            long tstate = interpSpans.getLong(ib, Field.INTERP_TSTATE_HEAD);
            long interpId = interpSpans.has(Field.INTERP_ID) ? interpSpans.getLong(ib, Field.INTERP_ID) : 0;
            boolean gilKnown = runtimeGil;
            boolean locked = gilLocked;
            long holder = gilHolder;
            if (interpSpans.has(Field.INTERP_GIL_PTR)) {
                long gil = interpSpans.getLong(ib, Field.INTERP_GIL_PTR);
                if (first) {
                    firstGil = gil;
                }
                if (gil != 0 && gilSpans.ranges() > 0) {
                    MemorySegment gb = null;
                    if (first && gil == specGil && gilSpecValid) {
                        gb = specGilBuf;
                    } else {
                        gilSpans.queue(memory, gil, gilBuf);
                        if (memory.flush() == gilSpans.ranges()) {
                            gb = gilBuf;
                        }
                    }
                    if (gb != null) {
                        gilKnown = true;
                        locked = gilSpans.getInt(gb, Field.GIL_LOCKED) != 0;
                        holder = gilSpans.getLong(gb, Field.GIL_LAST_HOLDER);
                    }
                }
            }
            if (version.freeThreaded()) {
                // 3.13t/3.14t run without a GIL (the struct exists, unused unless an extension
                // re-enables it): "held" means nothing, so it is reported unknown.
                gilKnown = false;
            }
            readThreadList(interp, tstate, interpId, gilKnown, locked, holder, runningOnly, first);
            interp = next;
        }
        remember(firstInterp, firstGil);
        return count;
    }

    private final long[] seenInterps = new long[MAX_INTERPRETERS];

    /** Whether {@code interp} is among the first {@code n} interpreters of this look. */
    private boolean seenInterp(long interp, int n) {
        for (int i = 0; i < n; i++) {
            if (seenInterps[i] == interp) {
                return true;
            }
        }
        return false;
    }

    /**
     * Flushes the {@code expected} ranges already queued together with the speculative reads of
     * what the previous look found, and marks which speculative reads completed.
     */
    private int flushWithSpeculation(int expected) throws SpyglassException {
        interpSpecValid = false;
        gilSpecValid = false;
        java.util.Arrays.fill(tstateSpecValid, false);
        java.util.Arrays.fill(cframeSpecValid, false);
        java.util.Arrays.fill(chunkSpecValid, false);
        java.util.Arrays.fill(codeSpecValid, false);
        java.util.Arrays.fill(frameSpecValid, false);
        java.util.Arrays.fill(nextFrameCount, 0);
        java.util.Arrays.fill(specOldValid, false);
        java.util.Arrays.fill(nextOldCount, 0);
        if (specInterp == 0) {
            return memory.flush();
        }
        interpSpans.queue(memory, specInterp, specInterpBuf);
        int interpLast = memory.pending() - 1;
        int gilLast = -1;
        if (specGil != 0 && gilSpans.ranges() > 0) {
            gilSpans.queue(memory, specGil, specGilBuf);
            gilLast = memory.pending() - 1;
        }
        int[] tstateLast = specIndex1;
        int[] cframeLast = specIndex2;
        int[] chunkLast = specIndex3;
        int tsSize = tstateSpans.bufferSize();
        for (int k = 0; k < specThreads; k++) {
            tstateSpans.queue(memory, specTstate[k], specTstateBuf, (long) k * tsSize);
            tstateLast[k] = memory.pending() - 1;
            cframeLast[k] = -1;
            if (hasCframe && specCframe[k] != 0) {
                cframeLast[k] = memory.add(specCframe[k] + layout.require(Field.CFRAME_CURRENT_FRAME), specCframeBuf,
                        8L * k, 8);
            }
        }
        int fsSize = frameSpans.bufferSize();
        int[] frameLast = specIndex4;
        int frameBudget = (RemoteMemory.MAX_IOV - 64 - SPEC_CODES - memory.pending()) / Math.max(1, frameSpans.ranges());
        if (!frames311) {
            // ≤3.10 frame objects of one stack mostly sit close together (obmalloc pools): read them
            // as a few merged ranges instead of one range each.
            queueLegacyFrames(frameLast, frameBudget);
            frameBudget = 0;
        }
        for (int k = 0; k < specThreads && frames311; k++) {
            for (int q = 0; q < specFrameCount[k]; q++) {
                int i = k * specFramesPerThread + q;
                if (frameBudget-- <= 0) {
                    frameLast[i] = Integer.MAX_VALUE;
                    continue;
                }
                frameSpans.queue(memory, specFrames[i], specFrameBuf, (long) i * fsSize);
                frameLast[i] = memory.pending() - 1;
            }
        }
        int codeFirst = memory.pending();
        int codes = Math.min(specCodeCount,
                (RemoteMemory.MAX_IOV - memory.pending() - SPEC_THREADS - 1) / Math.max(1, codeSpans.ranges()));
        for (int j = 0; j < codes; j++) {
            codeSpans.queue(memory, specCodes[j], specCodeBuf, (long) j * codeStride);
        }
        int codeRanges = codeSpans.ranges();
        // Chunks last: they are the largest ranges, and a failed range stops the kernel there.
        for (int k = 0; k < specThreads; k++) {
            for (int q = 0; q < specOldCount[k]; q++) {
                int i = k * SPEC_OLD_CHUNKS + q;
                if (specOldBuf[i] == null || specOldBuf[i].byteSize() < specOldLen[i]) {
                    specOldBuf[i] = arena.allocate(Math.max(specOldLen[i], MIN_CHUNK), 16);
                }
                specOldIndex[i] = memory.pending() < RemoteMemory.MAX_IOV - SPEC_THREADS
                        ? memory.add(specOldAddr[i], specOldBuf[i], 0, specOldLen[i]) : Integer.MAX_VALUE;
            }
        }
        for (int k = 0; k < specThreads; k++) {
            chunkLast[k] = -1;
            if (specChunk[k] != 0 && specChunkLen[k] > 0) {
                if (specChunkBuf[k] == null || specChunkBuf[k].byteSize() < specChunkLen[k]) {
                    specChunkBuf[k] = arena.allocate(Math.max(specChunkLen[k], 16 << 10), 16);
                }
                chunkLast[k] = memory.add(specChunk[k], specChunkBuf[k], 0, specChunkLen[k]);
            }
        }
        int done = memory.flush();
        interpSpecValid = interpLast < done;
        gilSpecValid = gilLast >= 0 && gilLast < done;
        for (int k = 0; k < specThreads; k++) {
            tstateSpecValid[k] = tstateLast[k] < done;
            cframeSpecValid[k] = cframeLast[k] >= 0 && cframeLast[k] < done;
            chunkSpecValid[k] = chunkLast[k] >= 0 && chunkLast[k] < done;
        }
        for (int j = 0; j < codes; j++) {
            codeSpecValid[j] = codeFirst + (j + 1) * codeRanges - 1 < done;
        }
        for (int k = 0; k < specThreads; k++) {
            for (int q = 0; q < specFrameCount[k]; q++) {
                int i = k * specFramesPerThread + q;
                frameSpecValid[i] = frameLast[i] < done;
            }
            for (int q = 0; q < specOldCount[k]; q++) {
                int i = k * SPEC_OLD_CHUNKS + q;
                specOldValid[i] = specOldIndex[i] < done;
            }
        }
        return Math.min(done, expected);
    }

    private long[] legacyOrder = new long[256];
    private long[] specFramePos = new long[0];
    private MemorySegment legacyBuf;
    private static final long LEGACY_GAP = 2048;
    private static final long LEGACY_MAX_RANGE = 256 << 10;

    private void queueLegacyFrames(int[] frameLast, int budget) {
        if (specFramePos.length < specFrames.length) {
            specFramePos = new long[specFrames.length];
        }
        int n = 0;
        for (int k = 0; k < specThreads; k++) {
            for (int q = 0; q < specFrameCount[k]; q++) {
                int i = k * specFramesPerThread + q;
                frameLast[i] = Integer.MAX_VALUE;
                if (n == legacyOrder.length) {
                    legacyOrder = java.util.Arrays.copyOf(legacyOrder, n * 2);
                }
                // address (< 2^47) and slot index (< 2^16) packed into one sortable long
                legacyOrder[n++] = (specFrames[i] << 16) | i;
            }
        }
        if (n == 0) {
            return;
        }
        // Arrays.sort allocates a run table for arrays of 65+ elements: sort in place instead.
        heapSort(legacyOrder, n);
        long extent = frameSpans.extent();
        // Pass 1: total buffer size.
        long total = 0;
        long start = -1;
        long end = -1;
        for (int j = 0; j < n; j++) {
            long a = legacyOrder[j] >>> 16;
            if (start < 0 || a - end > LEGACY_GAP || a + extent - start > LEGACY_MAX_RANGE) {
                if (start >= 0) {
                    total += end - start;
                }
                start = a;
            }
            end = Math.max(end, a + extent);
        }
        total += end - start;
        if (legacyBuf == null || legacyBuf.byteSize() < total) {
            legacyBuf = arena.allocate(Math.max(total, 64 << 10), 16);
        }
        // Pass 2: queue the merged ranges and note where each frame lands.
        long pos = 0;
        start = -1;
        end = -1;
        int rangeFirst = 0;
        for (int j = 0; j <= n; j++) {
            long a = j < n ? legacyOrder[j] >>> 16 : Long.MAX_VALUE;
            if (j == n || start < 0 || a - end > LEGACY_GAP || a + extent - start > LEGACY_MAX_RANGE) {
                if (start >= 0) {
                    if (budget-- <= 0) {
                        return;
                    }
                    int index = memory.add(start, legacyBuf, pos, end - start);
                    for (int m = rangeFirst; m < j; m++) {
                        int i = (int) (legacyOrder[m] & 0xffff);
                        frameLast[i] = index;
                        specFramePos[i] = pos + ((legacyOrder[m] >>> 16) - start);
                    }
                    pos += end - start;
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

    /** Sorts {@code a[0, n)} ascending in place, without allocating. */
    static void heapSort(long[] a, int n) {
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(a, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            long t = a[0];
            a[0] = a[end];
            a[end] = t;
            siftDown(a, 0, end);
        }
    }

    private static void siftDown(long[] a, int i, int n) {
        long v = a[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) {
                break;
            }
            if (c + 1 < n && a[c + 1] > a[c]) {
                c++;
            }
            if (a[c] <= v) {
                break;
            }
            a[i] = a[c];
            i = c;
        }
        a[i] = v;
    }

    private final int[] specIndex1 = new int[SPEC_THREADS];
    private final int[] specIndex2 = new int[SPEC_THREADS];
    private final int[] specIndex3 = new int[SPEC_THREADS];
    private final int[] specIndex4;

    private final long[] specFramesTmp;
    private final int[] specFrameCountTmp = new int[SPEC_THREADS];
    private final long[] specOldAddrTmp = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final long[] specOldLenTmp = new long[SPEC_THREADS * SPEC_OLD_CHUNKS];
    private final int[] specOldCountTmp = new int[SPEC_THREADS];

    /** What to read speculatively at the next look: this look's addresses. */
    private void remember(long firstInterp, long firstGil) {
        specInterp = firstInterp;
        specGil = firstGil;
        int k = 0;
        for (int i = 0; i < count && k < SPEC_THREADS; i++) {
            ThreadRecord r = records[i];
            if (!r.firstInterpreter || r.tstate == 0) {
                continue;
            }
            specTstate[k] = r.tstate;
            specCframe[k] = hasCframe ? r.topFrame : 0;
            specChunk[k] = r.torn ? 0 : r.datastackChunk;
            long used = r.datastackTop - r.datastackChunk;
            // top and chunk come from the target and may disagree (a torn read, or CPython between
            // updating the two): an implausible span reads nothing speculatively. With the chunk's size
            // unknown, read exactly what is used (the margin could run past the chunk's mapping).
            boolean plausible = used > 0 && used <= MAX_CHUNK_BYTES;
            long len = !plausible ? 0 : r.chunkSize > 0 ? Math.min(used + CHUNK_MARGIN, r.chunkSize) : used;
            specChunkLen[k] = len;
            int slot = r.specSlot;
            int nOld = slot >= 0 ? nextOldCount[slot] : 0;
            System.arraycopy(nextOldAddr, Math.max(slot, 0) * SPEC_OLD_CHUNKS, specOldAddrTmp, k * SPEC_OLD_CHUNKS, nOld);
            System.arraycopy(nextOldLen, Math.max(slot, 0) * SPEC_OLD_CHUNKS, specOldLenTmp, k * SPEC_OLD_CHUNKS, nOld);
            specOldCountTmp[k] = nOld;
            int n = slot >= 0 ? nextFrameCount[slot] : 0;
            System.arraycopy(nextFrames, Math.max(slot, 0) * specFramesPerThread, specFramesTmp, k * specFramesPerThread, n);
            specFrameCountTmp[k] = n;
            k++;
        }
        specThreads = k;
        System.arraycopy(specFramesTmp, 0, specFrames, 0, specFrames.length);
        System.arraycopy(specFrameCountTmp, 0, specFrameCount, 0, SPEC_THREADS);
        System.arraycopy(specOldAddrTmp, 0, specOldAddr, 0, specOldAddr.length);
        System.arraycopy(specOldLenTmp, 0, specOldLen, 0, specOldLen.length);
        System.arraycopy(specOldCountTmp, 0, specOldCount, 0, SPEC_THREADS);
        System.arraycopy(nextCodes, 0, specCodes, 0, nextCodeCount);
        specCodeCount = nextCodeCount;
    }

    private void readThreadList(long interp, long tstate, long interpId, boolean gilKnown, boolean locked, long holder,
            boolean runningOnly, boolean firstInterpreter) throws SpyglassException {
        int firstRecord = count;
        readThreadStates(interp, tstate, interpId, gilKnown, locked, holder, firstInterpreter);
        for (int i = firstRecord; i < count; i++) {
            ThreadRecord r = records[i];
            if (r.torn) {
                continue;
            }
            if (r.nativeThreadId < 0 && tasks != null) {
                r.nativeThreadId = tidFromPthread(r.pythonThreadId);
            } else if (r.nativeThreadId > 0 && tasks != null) {
                // native_thread_id holds the TID in the target's PID namespace; report and read ours.
                r.nativeThreadId = tasks.hostTid(r.nativeThreadId);
            }
            if (tasks != null && r.nativeThreadId > 0) {
                TaskStates.RunState rs = tasks.state(r.nativeThreadId);
                r.state = switch (rs) {
                    case RUNNING -> ThreadState.RUNNING;
                    case SLEEPING -> ThreadState.IDLE;
                    case UNKNOWN -> ThreadState.UNKNOWN;
                };
            }
            if (runningOnly && r.state != ThreadState.RUNNING && !(r.state == ThreadState.UNKNOWN && r.gil == 2)) {
                r.skipped = true;
                continue;
            }
            try {
                walk(r);
            } catch (MemoryFault f) {
                r.depth = 0;
                r.tear("frame memory unreadable: " + f.getMessage());
            }
        }
    }

    private void readThreadStates(long interp, long tstate, long interpId, boolean gilKnown, boolean locked,
            long holder, boolean firstInterpreter) throws SpyglassException {
        int threads = 0;
        long first = tstate;
        while (tstate != 0) {
            if (threads++ >= MAX_THREADS || (threads > 1 && tstate == first)) {
                ThreadRecord r = nextRecord();
                r.tear("thread list of interpreter " + interpId + " does not end");
                return;
            }
            ThreadRecord r = nextRecord();
            r.tstate = tstate;
            r.interpreterId = interpId;
            r.firstInterpreter = firstInterpreter;
            int slot = threads - 1;
            MemorySegment tb = tstateBuf;
            long at = 0;
            if (firstInterpreter && slot < SPEC_THREADS) {
                // Position in the list: where this thread's speculative reads go next time. Every use of
                // a speculative read checks its address, so a thread that moved position costs a read.
                r.specSlot = slot;
            }
            if (firstInterpreter && slot < specThreads && specTstate[slot] == tstate && tstateSpecValid[slot]) {
                tb = specTstateBuf;
                at = (long) slot * tstateSpans.bufferSize();
            } else {
                tstateSpans.queue(memory, tstate, tstateBuf);
                if (memory.flush() != tstateSpans.ranges()) {
                    r.tear("thread state 0x" + Long.toHexString(tstate) + " unreadable (thread ended)");
                    return;
                }
            }
            if (tstateSpans.getLong(tb, at, Field.TSTATE_INTERP) != interp) {
                r.tear("thread state 0x" + Long.toHexString(tstate) + " does not belong to its interpreter");
                return;
            }
            long next = tstateSpans.getLong(tb, at, Field.TSTATE_NEXT);
            r.pythonThreadId = tstateSpans.getLong(tb, at, Field.TSTATE_THREAD_ID);
            if (tstateSpans.has(Field.TSTATE_NATIVE_THREAD_ID)) {
                long tid = tstateSpans.getLong(tb, at, Field.TSTATE_NATIVE_THREAD_ID);
                // native_thread_id is an unsigned long; only its low 32 bits hold a pid_t.
                r.nativeThreadId = tid > 0 && tid < (1L << 31) ? tid : -1;
            }
            if (gilKnown) {
                r.gil = locked && holder == tstate ? 2 : 1;
            }
            if (frames311) {
                r.datastackChunk = tstateSpans.getLong(tb, at, Field.TSTATE_DATASTACK_CHUNK);
                r.datastackTop = tstateSpans.getLong(tb, at, Field.TSTATE_DATASTACK_TOP);
                r.topFrame = hasCframe ? tstateSpans.getLong(tb, at, Field.TSTATE_CFRAME)
                        : tstateSpans.getLong(tb, at, Field.TSTATE_CURRENT_FRAME);
            } else {
                r.topFrame = tstateSpans.getLong(tb, at, Field.TSTATE_FRAME);
            }
            tstate = next;
        }
    }

    // ---- frames ----

    private void walk(ThreadRecord r) throws MemoryFault, SpyglassException {
        int n;
        if (frames311) {
            n = collect311(r);
        } else {
            n = collectLegacy(r);
        }
        if (n < 0 || r.torn) {
            r.depth = 0;
            return;
        }
        resolve(r, n);
        if (r.torn) {
            r.depth = 0;
        }
    }

    private void ensureFrameCapacity(int n) {
        if (n >= frameCode.length) {
            frameCode = java.util.Arrays.copyOf(frameCode, frameCode.length * 2);
            frameInstr = java.util.Arrays.copyOf(frameInstr, frameInstr.length * 2);
            frameTlbc = java.util.Arrays.copyOf(frameTlbc, frameTlbc.length * 2);
        }
    }

    /** ≤3.10: a linked list of heap frame objects, one read each. */
    private int collectLegacy(ThreadRecord r) throws MemoryFault, SpyglassException {
        long f = r.topFrame;
        int n = 0;
        visited.clear();
        while (f != 0) {
            if (n >= MAX_DEPTH || !visited.add(f)) {
                r.tear(n >= MAX_DEPTH ? "stack deeper than " + MAX_DEPTH : "frame cycle");
                return -1;
            }
            if ((f & 7) != 0) {
                r.tear("misaligned frame pointer");
                return -1;
            }
            MemorySegment fb = frameBuf;
            long at = 0;
            int slot = r.specSlot;
            int i = slot >= 0 && slot < specThreads && n < specFrameCount[slot] ? slot * specFramesPerThread + n : -1;
            boolean raw = false;
            if (i >= 0 && specFrames[i] == f && frameSpecValid[i]) {
                fb = legacyBuf;
                at = specFramePos[i];
                raw = true;
            } else {
                frameSpans.queue(memory, f, frameBuf);
                if (memory.flush() != frameSpans.ranges()) {
                    r.tear("frame 0x" + Long.toHexString(f) + " unreadable");
                    return -1;
                }
            }
            if (slot >= 0 && n < specFramesPerThread) {
                nextFrames[slot * specFramesPerThread + n] = f;
                nextFrameCount[slot] = n + 1;
            }
            ensureFrameCapacity(n);
            if (raw) {
                // A copy of the frame object itself: fields at their struct offsets.
                frameCode[n] = fb.get(ValueLayout.JAVA_LONG_UNALIGNED, at + layout.offset(Field.FRAME_CODE));
                frameInstr[n] = fb.get(ValueLayout.JAVA_INT_UNALIGNED, at + layout.offset(Field.FRAME_LASTI));
                f = fb.get(ValueLayout.JAVA_LONG_UNALIGNED, at + layout.offset(Field.FRAME_BACK));
            } else {
                frameCode[n] = frameSpans.getLong(fb, at, Field.FRAME_CODE);
                frameInstr[n] = frameSpans.getInt(fb, at, Field.FRAME_LASTI);
                f = frameSpans.getLong(fb, at, Field.FRAME_BACK);
            }
            n++;
        }
        return n;
    }

    /** 3.11+: frames in the thread's data-stack chunk, copied in one read and walked locally. */
    private int collect311(ThreadRecord r) throws MemoryFault, SpyglassException {
        long chunk = r.datastackChunk;
        long top = r.datastackTop;
        long chunkLen = 0;
        int queued = 0;
        int slot = r.specSlot;
        boolean cframeSpec = hasCframe && slot >= 0 && slot < specThreads && cframeSpecValid[slot]
                && specCframe[slot] == r.topFrame;
        boolean chunkSpec = slot >= 0 && slot < specThreads && chunkSpecValid[slot] && specChunk[slot] == chunk && top > chunk
                && top - chunk <= specChunkLen[slot];
        MemorySegment chunkData = chunkBuf;
        if (hasCframe) {
            if (r.topFrame == 0) {
                return 0;
            }
            if (!cframeSpec) {
                memory.add(r.topFrame + layout.require(Field.CFRAME_CURRENT_FRAME), wordBuf);
                queued++;
            }
        }
        boolean chunkQueued = false;
        if (chunkSpec) {
            chunkLen = top - chunk;
            chunkData = specChunkBuf[slot];
        } else if (chunk != 0 && top > chunk && top - chunk <= MAX_CHUNK_BYTES) {
            chunkLen = top - chunk;
            if (chunkBuf.byteSize() < chunkLen) {
                chunkBuf = arena.allocate(Math.max(chunkLen, chunkBuf.byteSize() * 2), 16);
            }
            chunkData = chunkBuf;
            memory.add(chunk, chunkBuf, 0, chunkLen);
            queued++;
            chunkQueued = true;
        }
        int done = queued == 0 ? 0 : memory.flush();
        long frame;
        if (hasCframe) {
            if (cframeSpec) {
                frame = specCframeBuf.get(ValueLayout.JAVA_LONG, 8L * slot);
            } else {
                if (done < 1) {
                    r.tear("cframe unreadable");
                    return -1;
                }
                frame = wordBuf.get(ValueLayout.JAVA_LONG, 0);
            }
        } else {
            frame = r.topFrame;
        }
        if (chunkQueued && done < queued) {
            chunkLen = 0; // the chunk copy failed: read frames one by one
        }
        if (chunkLen >= 16 && layout.has(Field.CHUNK_SIZE)) {
            r.chunkSize = chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.offset(Field.CHUNK_SIZE));
        }
        oldChunks = 0;
        oldChunkNext = chunkLen >= 8 ? chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.offset(Field.CHUNK_PREVIOUS))
                : 0;
        long frameExtent = frameSpans.extent();
        long prevOff = layout.require(Field.IFRAME_PREVIOUS);
        long execOff = layout.require(Field.IFRAME_EXECUTABLE);
        long instrOff = layout.require(Field.IFRAME_INSTR_PTR);
        long ownerOff = layout.has(Field.IFRAME_OWNER) ? layout.offset(Field.IFRAME_OWNER) : -1;
        long tlbcOff = layout.has(Field.IFRAME_TLBC_INDEX) ? layout.offset(Field.IFRAME_TLBC_INDEX) : -1;
        int n = 0;
        int steps = 0;
        visited.clear();
        while (frame != 0) {
            if (steps++ >= MAX_DEPTH || !visited.add(frame)) {
                r.tear(steps >= MAX_DEPTH ? "stack deeper than " + MAX_DEPTH : "frame cycle");
                return -1;
            }
            if ((frame & 7) != 0) {
                r.tear("misaligned frame pointer");
                return -1;
            }
            long previous;
            long exec;
            long instr;
            int owner;
            int tlbc;
            long rel = frame - chunk;
            int old = -1;
            if (!(chunkLen > 0 && rel >= 0 && rel + frameExtent <= chunkLen)) {
                old = oldChunkFor(frame, frameExtent, slot);
            }
            if (chunkLen > 0 && rel >= 0 && rel + frameExtent <= chunkLen) {
                previous = chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + prevOff);
                exec = chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + execOff);
                instr = chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + instrOff);
                owner = ownerOff < 0 ? 0 : chunkData.get(ValueLayout.JAVA_BYTE, rel + ownerOff) & 0xff;
                tlbc = tlbcOff < 0 ? 0 : chunkData.get(ValueLayout.JAVA_INT_UNALIGNED, rel + tlbcOff);
            } else if (old >= 0) {
                MemorySegment ob = oldChunkBuf[old];
                long orel = frame - oldChunkAddr[old];
                previous = ob.get(ValueLayout.JAVA_LONG_UNALIGNED, orel + prevOff);
                exec = ob.get(ValueLayout.JAVA_LONG_UNALIGNED, orel + execOff);
                instr = ob.get(ValueLayout.JAVA_LONG_UNALIGNED, orel + instrOff);
                owner = ownerOff < 0 ? 0 : ob.get(ValueLayout.JAVA_BYTE, orel + ownerOff) & 0xff;
                tlbc = tlbcOff < 0 ? 0 : ob.get(ValueLayout.JAVA_INT_UNALIGNED, orel + tlbcOff);
            } else {
                MemorySegment fb = frameBuf;
                long at = 0;
                int hit = -1;
                if (slot >= 0 && slot < specThreads) {
                    for (int q = 0; q < specFrameCount[slot]; q++) {
                        int i = slot * specFramesPerThread + q;
                        if (specFrames[i] == frame && frameSpecValid[i]) {
                            hit = i;
                            break;
                        }
                    }
                }
                if (hit >= 0) {
                    fb = specFrameBuf;
                    at = (long) hit * frameSpans.bufferSize();
                } else {
                    frameSpans.queue(memory, frame, frameBuf);
                    if (memory.flush() != frameSpans.ranges()) {
                        r.tear("frame 0x" + Long.toHexString(frame) + " unreadable");
                        return -1;
                    }
                }
                if (slot >= 0 && nextFrameCount[slot] < specFramesPerThread) {
                    nextFrames[slot * specFramesPerThread + nextFrameCount[slot]++] = frame;
                }
                previous = frameSpans.getLong(fb, at, Field.IFRAME_PREVIOUS);
                exec = frameSpans.getLong(fb, at, Field.IFRAME_EXECUTABLE);
                instr = frameSpans.getLong(fb, at, Field.IFRAME_INSTR_PTR);
                owner = frameSpans.getByte(fb, at, Field.IFRAME_OWNER);
                tlbc = tlbcOff < 0 ? 0 : frameSpans.getInt(fb, at, Field.IFRAME_TLBC_INDEX);
            }
            // 3.12+: shim frames owned by the C stack; 3.14: also interpreter-owned entry frames.
            if (owner < firstNonPythonOwner) {
                exec &= ~tagMask;
                if (exec == 0) {
                    if (!skipNonCode) {
                        r.tear("frame without code object");
                        return -1;
                    }
                } else {
                    ensureFrameCapacity(n);
                    frameCode[n] = exec;
                    frameInstr[n] = instr;
                    frameTlbc[n] = tlbc;
                    n++;
                }
            }
            frame = previous;
        }
        return n;
    }

    /**
     * The index of the older chunk of this walk holding {@code [frame, frame + extent)}, loading
     * chunks along the {@code previous} chain until one does; -1 when none does (a generator's frame,
     * or the 3.12+ entry frame on the C stack).
     */
    private int oldChunkFor(long frame, long extent, int slot) throws SpyglassException {
        for (int i = 0; i < oldChunks; i++) {
            long rel = frame - oldChunkAddr[i];
            if (rel >= 0 && rel + extent <= oldChunkLen[i]) {
                return i;
            }
        }
        while (oldChunkNext != 0 && oldChunks < MAX_OLD_CHUNKS) {
            int i = loadOldChunk(oldChunkNext, slot);
            if (i < 0) {
                oldChunkNext = 0;
                return -1;
            }
            oldChunkNext = oldChunkBuf[i].get(ValueLayout.JAVA_LONG_UNALIGNED, layout.offset(Field.CHUNK_PREVIOUS));
            long rel = frame - oldChunkAddr[i];
            if (rel >= 0 && rel + extent <= oldChunkLen[i]) {
                return i;
            }
        }
        return -1;
    }

    /** Copies the used part of the chunk at {@code address}; its index, or -1 when it is unreadable. */
    private int loadOldChunk(long address, int slot) throws SpyglassException {
        int i = oldChunks;
        long dataOff = layout.require(Field.CHUNK_DATA);
        long topOff = layout.require(Field.CHUNK_TOP);
        long sizeOff = layout.require(Field.CHUNK_SIZE);
        MemorySegment buf = null;
        long used = -1;
        if (slot >= 0 && slot < specThreads) {
            for (int q = 0; q < specOldCount[slot]; q++) {
                int k = slot * SPEC_OLD_CHUNKS + q;
                if (specOldAddr[k] == address && specOldValid[k] && specOldLen[k] > dataOff) {
                    long u = dataOff + 8 * specOldBuf[k].get(ValueLayout.JAVA_LONG_UNALIGNED, topOff);
                    if (u > dataOff && u <= specOldLen[k]) {
                        buf = specOldBuf[k];
                        used = u;
                    }
                    break;
                }
            }
        }
        if (buf == null) {
            if (oldChunkOwnBuf[i] == null) {
                oldChunkOwnBuf[i] = arena.allocate(MIN_CHUNK, 16);
            }
            buf = oldChunkOwnBuf[i];
            long got = memory.readPartial(address, buf.asSlice(0, MIN_CHUNK));
            if (got < dataOff) {
                return -1;
            }
            long size = buf.get(ValueLayout.JAVA_LONG_UNALIGNED, sizeOff);
            used = dataOff + 8 * buf.get(ValueLayout.JAVA_LONG_UNALIGNED, topOff);
            if (size < dataOff || size > MAX_CHUNK_BYTES || used <= dataOff || used > size) {
                return -1;
            }
            if (used > got) {
                if (buf.byteSize() < used) {
                    oldChunkOwnBuf[i] = arena.allocate(used, 16);
                    buf = oldChunkOwnBuf[i];
                }
                try {
                    memory.read(address, buf.asSlice(0, used));
                } catch (MemoryFault f) {
                    return -1;
                }
            }
        }
        oldChunkAddr[i] = address;
        oldChunkLen[i] = used;
        oldChunkBuf[i] = buf;
        oldChunks++;
        if (slot >= 0 && nextOldCount[slot] < SPEC_OLD_CHUNKS) {
            int k = slot * SPEC_OLD_CHUNKS + nextOldCount[slot]++;
            nextOldAddr[k] = address;
            nextOldLen[k] = used;
        }
        return i;
    }

    /** Turns (code, instruction) pairs into interned frames, validating each distinct code object once. */
    private void resolve(ThreadRecord r, int n) throws SpyglassException {
        int d = 0;
        for (int i = 0; i < n; i++) {
            long c = frameCode[i];
            boolean seen = false;
            for (int j = 0; j < d; j++) {
                if (distinct[j] == c) {
                    seen = true;
                    break;
                }
            }
            if (!seen) {
                if (d == distinct.length) {
                    distinct = java.util.Arrays.copyOf(distinct, d * 2);
                    distinctEntry = java.util.Arrays.copyOf(distinctEntry, d * 2);
                    distinctSkip = java.util.Arrays.copyOf(distinctSkip, d * 2);
                }
                distinct[d++] = c;
            }
        }
        if (codeBuf.byteSize() < (long) codeStride * Math.min(d, RemoteMemory.MAX_IOV)) {
            codeBuf = arena.allocate((long) codeStride * Math.min(Math.max(d, 64), RemoteMemory.MAX_IOV), 16);
        }
        int ranges = codeSpans.ranges();
        int perBatch = Math.max(1, RemoteMemory.MAX_IOV / Math.max(1, ranges));
        // Code headers read speculatively in this look's first call need no read now.
        int[] specSlots = distinctSpecSlot.length >= d ? distinctSpecSlot : (distinctSpecSlot = new int[d * 2]);
        int missing = 0;
        for (int j = 0; j < d; j++) {
            specSlots[j] = -1;
            for (int q = 0; q < specCodeCount; q++) {
                if (specCodes[q] == distinct[j] && codeSpecValid[q]) {
                    specSlots[j] = q;
                    break;
                }
            }
            if (specSlots[j] < 0) {
                missing++;
            }
            if (nextCodeCount < SPEC_CODES) {
                boolean known = false;
                for (int q = 0; q < nextCodeCount; q++) {
                    if (nextCodes[q] == distinct[j]) {
                        known = true;
                        break;
                    }
                }
                if (!known) {
                    nextCodes[nextCodeCount++] = distinct[j];
                }
            }
        }
        for (int j = 0; j < d; j++) {
            if (specSlots[j] >= 0) {
                distinctSkip[j] = false;
                distinctEntry[j] = null;
                CodeEntry e = entryFor(r, distinct[j], specCodeBuf, (long) specSlots[j] * codeStride);
                if (r.torn) {
                    return;
                }
                distinctSkip[j] = e == null;
                distinctEntry[j] = e;
            }
        }
        for (int start = 0; missing > 0 && start < d;) {
            int taken = 0;
            int end = start;
            while (end < d && taken < perBatch) {
                if (specSlots[end] < 0) {
                    codeSpans.queue(memory, distinct[end], codeBuf, (long) taken * codeStride);
                    taken++;
                }
                end++;
            }
            if (memory.flush() != taken * ranges) {
                r.tear("code object unreadable");
                return;
            }
            int slotInBatch = 0;
            for (int j = start; j < end; j++) {
                if (specSlots[j] >= 0) {
                    continue;
                }
                distinctSkip[j] = false;
                distinctEntry[j] = null;
                CodeEntry e = entryFor(r, distinct[j], codeBuf, (long) slotInBatch * codeStride);
                slotInBatch++;
                if (r.torn) {
                    return;
                }
                distinctSkip[j] = e == null;
                distinctEntry[j] = e;
            }
            start = end;
        }
        for (int i = 0; i < n; i++) {
            long c = frameCode[i];
            int j = 0;
            while (distinct[j] != c) {
                j++;
            }
            if (distinctSkip[j]) {
                continue;
            }
            CodeEntry e = distinctEntry[j];
            int offset;
            if (frames311) {
                long diff = frameInstr[i] - (c + codeAdaptive);
                if (frameTlbc[i] != 0) {
                    long start = tlbcStart(r, c, e, frameTlbc[i], frameInstr[i]);
                    if (start == 0) {
                        return;
                    }
                    diff = frameInstr[i] - start;
                }
                if ((diff & 1) != 0 || diff < -2 || (e.codeBytes >= 0 && diff >= e.codeBytes)) {
                    r.tear("instruction pointer outside its code object");
                    return;
                }
                offset = (int) diff;
            } else {
                offset = LineTable.byteOffsetOfLasti(version, (int) frameInstr[i]);
            }
            r.push(e.frame(offset));
        }
    }

    /**
     * 3.14t: the start of the thread's copy of the code's bytecode, {@code co->_co_tlbc->entries[index]}
     * ({@code _PyFrame_GetBytecode}; entry 0 is {@code co_code_adaptive} itself). Cached per code object
     * and index; a cached start is trusted only while {@code instr} falls inside that copy, else the
     * array is read again (copies are freed and reallocated by the GC). 0 after tearing {@code r}.
     */
    private long tlbcStart(ThreadRecord r, long code, CodeEntry e, int index, long instr) throws SpyglassException {
        long[] starts = e.tlbcStarts;
        // The index comes from the target: check it before it indexes anything.
        if (index < 0 || index > MAX_TLBC_INDEX || !layout.has(Field.CODE_TLBC)) {
            r.tear("frame tlbc_index " + index + " out of range");
            return 0;
        }
        if (starts != null && index < starts.length && starts[index] != 0) {
            long d = instr - starts[index];
            if (d >= -2 && (e.codeBytes < 0 || d < e.codeBytes)) {
                return starts[index];
            }
        }
        long start;
        try {
            long array = memory.readLong(code + layout.offset(Field.CODE_TLBC));
            // _PyCodeArray: Py_ssize_t size; char *entries[size]
            long size = array == 0 || (array & 7) != 0 ? 0 : memory.readLong(array);
            if (index >= size || size > MAX_TLBC_INDEX + 1) {
                r.tear("code object 0x" + Long.toHexString(code) + " has no bytecode copy " + index);
                return 0;
            }
            start = memory.readLong(array + 8 + 8L * index);
        } catch (MemoryFault ex) {
            r.tear("per-thread bytecode of code object 0x" + Long.toHexString(code) + ": " + ex.getMessage());
            return 0;
        }
        if (start == 0 || (start & 1) != 0) {
            r.tear("code object 0x" + Long.toHexString(code) + " has no bytecode copy " + index);
            return 0;
        }
        if (starts == null || index >= starts.length) {
            starts = java.util.Arrays.copyOf(starts == null ? new long[0] : starts, Math.max(index + 1, 4));
            e.tlbcStarts = starts;
        }
        starts[index] = start;
        return start;
    }

    /** The cached entry if still valid, else a freshly decoded one; null for a non-code executable (3.13+). */
    private CodeEntry entryFor(ThreadRecord r, long address, MemorySegment buf, long at) throws SpyglassException {
        for (int k = 0; k < codeKeyFields.length; k++) {
            Field f = codeKeyFields[k];
            keyWords[k] = codeKeyInt[k] ? codeSpans.getInt(buf, at, f) : codeSpans.getLong(buf, at, f);
        }
        CodeEntry cached = codeCache.get(address);
        if (cached != null && cached.matches(keyWords)) {
            return cached;
        }
        long type = keyWords[0];
        if (!isCodeType(type)) {
            if (skipNonCode) {
                return null;
            }
            r.tear("f_code is not a code object");
            return null;
        }
        try {
            CodeEntry e = decode(buf.asSlice(at, codeStride));
            codeDecodes++;
            if (codeCache.size() >= MAX_CODE_CACHE) {
                codeCache.clear();
            }
            codeCache.put(address, e);
            return e;
        } catch (MemoryFault | MalformedObjectException ex) {
            r.tear("code object 0x" + Long.toHexString(address) + ": " + ex.getMessage());
            return null;
        }
    }

    private boolean isCodeType(long type) throws SpyglassException {
        if (type == 0 || (type & 7) != 0) {
            return false;
        }
        if (codeType != 0) {
            return type == codeType;
        }
        Boolean known = codeTypes.get(type);
        if (known != null) {
            return known;
        }
        boolean isCode = false;
        if (layout.has(Field.TYPE_NAME)) {
            try {
                long namePtr = memory.readLong(type + layout.offset(Field.TYPE_NAME));
                long got = memory.readPartial(namePtr, stringBuf.asSlice(0, 8));
                isCode = got >= 5 && "code\0".equals(new String(stringBuf.asSlice(0, 5).toArray(ValueLayout.JAVA_BYTE),
                        StandardCharsets.ISO_8859_1));
            } catch (MemoryFault f) {
                return false;
            }
        }
        codeTypes.put(type, isCode);
        if (isCode) {
            codeType = type;
        }
        return isCode;
    }

    private CodeEntry decode(MemorySegment header) throws MemoryFault, MalformedObjectException, SpyglassException {
        long[] key = keyWords.clone();
        String name = readString(codeSpans.getLong(header, Field.CODE_NAME));
        String qualname = codeSpans.has(Field.CODE_QUALNAME) ? readString(codeSpans.getLong(header, Field.CODE_QUALNAME))
                : name;
        String file = readString(codeSpans.getLong(header, Field.CODE_FILENAME));
        int firstLine = codeSpans.getInt(header, Field.CODE_FIRSTLINENO);
        byte[] table = readBytes(codeSpans.getLong(header, Field.CODE_LINETABLE));
        LineTable lines = LineTable.of(version, table, firstLine);
        long codeBytes = -1;
        if (frames311 && codeSpans.has(Field.VAROBJECT_SIZE)) {
            long units = codeSpans.getLong(header, Field.VAROBJECT_SIZE);
            if (units < 0 || units > (1L << 28)) {
                throw new MalformedObjectException("code object with " + units + " code units");
            }
            codeBytes = units * 2;
        }
        return new CodeEntry(key, name, qualname, file, firstLine, lines, frames311, codeBytes);
    }

    private String readString(long address) throws MemoryFault, MalformedObjectException, SpyglassException {
        if (address == 0 || (address & 7) != 0) {
            throw new MalformedObjectException("string pointer 0x" + Long.toHexString(address));
        }
        long got = memory.readPartial(address, stringBuf);
        if (got < strings.prefixSize()) {
            throw new MemoryFault(address, strings.prefixSize(), got);
        }
        MemorySegment prefix = stringBuf.asSlice(0, got);
        StringHeader h = strings.header(prefix);
        if (h.isCompleteIn(got)) {
            return strings.decodeFromPrefix(h, prefix);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment chars = a.allocate(Math.max(h.byteCount(), 1), 8).asSlice(0, h.byteCount());
            memory.read(h.isInline() ? address + h.inlineOffset() : h.dataAddress(), chars);
            return strings.decode(h, chars);
        }
    }

    private byte[] readBytes(long address) throws MemoryFault, MalformedObjectException, SpyglassException {
        if (address == 0 || (address & 7) != 0) {
            throw new MalformedObjectException("bytes pointer 0x" + Long.toHexString(address));
        }
        long got = memory.readPartial(address, stringBuf);
        if (got < layout.require(Field.BYTES_DATA)) {
            throw new MemoryFault(address, layout.require(Field.BYTES_DATA), got);
        }
        MemorySegment prefix = stringBuf.asSlice(0, got);
        StringHeader h = strings.bytesHeader(prefix, MAX_LINETABLE_BYTES);
        if (h.isCompleteIn(got)) {
            return strings.bytesContent(h, prefix.asSlice(h.inlineOffset(), h.byteCount()));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(Math.max(h.byteCount(), 1), 8).asSlice(0, h.byteCount());
            memory.read(address + h.inlineOffset(), data);
            return strings.bytesContent(h, data);
        }
    }

    // ---- kernel thread ids on ≤3.10 ----

    /**
     * The TID of the thread whose {@code pthread_t} (a pointer to glibc's {@code struct pthread}) is
     * {@code pthread}, or -1. The offset of {@code tid} in {@code struct pthread} is found once: the
     * main thread's TID equals the PID, so we look for the PID in each thread's {@code struct pthread}
     * and keep an offset at which every thread holds a TID the kernel lists.
     */
    private long tidFromPthread(long pthread) throws SpyglassException {
        if (pthread == 0 || (pthread & 7) != 0) {
            return -1;
        }
        // Read at every look, not cached by pthread_t: glibc gives a joined thread's struct pthread (and
        // so its pthread_t, Python's ident) to the next thread it starts, and the kernel rewrites the tid
        // there (CLONE_CHILD_CLEARTID zeroes it at exit, clone sets the new one). A cache keyed by pthread_t
        // named the new thread with the old TID while the task list still showed the old task.
        if (pthreadTidOffset < 0) {
            calibrate(pthread);
            if (pthreadTidOffset < 0) {
                // Not calibrated (yet): one Python thread in a process of one thread is that thread.
                return count == 1 ? tasks.onlyTid() : -1;
            }
        }
        try {
            // struct pthread holds the TID in the target's PID namespace.
            long tid = tasks.hostTid(memory.readInt(pthread + pthreadTidOffset));
            if (tid > 0 && tasks.exists(tid)) {
                return tid;
            }
        } catch (MemoryFault f) {
            // thread ended
        }
        return -1;
    }

    private void calibrate(long pthread) throws SpyglassException {
        long now = System.nanoTime();
        if (lastCalibration != 0 && now - lastCalibration < 500_000_000L) {
            return;
        }
        lastCalibration = now;
        long found = -1;
        boolean ambiguous = false;
        // Candidates: offsets holding the PID in the main thread's struct pthread. We do not know which
        // pthread is the main thread, so try every thread of the latest look plus this one.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(2048, 8);
            long[] pthreads = new long[count + 1];
            int np = 0;
            for (int i = 0; i < count; i++) {
                if (records[i].pythonThreadId != 0) {
                    pthreads[np++] = records[i].pythonThreadId;
                }
            }
            pthreads[np++] = pthread;
            for (int i = 0; i < np; i++) {
                long got = memory.readPartial(pthreads[i], buf);
                for (long off = 0; off + 4 <= got; off += 4) {
                    if (buf.get(ValueLayout.JAVA_INT, off) != tasks.targetPid()) {
                        continue;
                    }
                    if (offsetWorksForAll(off, pthreads, np)) {
                        if (!tasks.namespaced()) {
                            pthreadTidOffset = off;
                            LOG.debug("process {}: struct pthread tid at offset {}", pid, off);
                            return;
                        }
                        if (found < 0 || found == off) {
                            found = off;
                        } else {
                            ambiguous = true;
                        }
                    }
                }
            }
        }
        // In a container the PID the target sees is small (often 1), a value other fields of struct
        // pthread hold as well: take an offset only when no other one fits every thread. More threads
        // (with distinct TIDs) settle it later.
        if (found >= 0 && !ambiguous) {
            pthreadTidOffset = found;
            LOG.debug("process {}: struct pthread tid at offset {} (PID {} in its namespace)", pid, found,
                    tasks.targetPid());
        } else if (ambiguous) {
            LOG.debug("process {}: struct pthread tid offset ambiguous with {} threads", pid, count);
        }
    }

    private boolean offsetWorksForAll(long off, long[] pthreads, int np) throws SpyglassException {
        long[] seen = new long[np];
        for (int i = 0; i < np; i++) {
            try {
                long tid = tasks.hostTid(memory.readInt(pthreads[i] + off));
                if (tid <= 0 || !tasks.exists(tid)) {
                    return false;
                }
                // Distinct threads have distinct TIDs. In a container the main thread's TID is often 1,
                // a value many fields of struct pthread hold.
                for (int j = 0; j < i; j++) {
                    if (seen[j] == tid && pthreads[j] != pthreads[i]) {
                        return false;
                    }
                }
                seen[i] = tid;
            } catch (MemoryFault f) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** A set of frame addresses for cycle detection, cleared per walk without allocation. */
    private static final class VisitedSet {
        private long[] slots = new long[1024];
        private int size;

        void clear() {
            if (size > 0) {
                java.util.Arrays.fill(slots, 0);
                size = 0;
            }
        }

        boolean add(long v) {
            if ((size + 1) * 2 > slots.length) {
                long[] old = slots;
                slots = new long[old.length * 2];
                size = 0;
                for (long o : old) {
                    if (o != 0) {
                        add(o);
                    }
                }
            }
            int mask = slots.length - 1;
            long h = v * 0x9E3779B97F4A7C15L;
            int i = (int) (h ^ (h >>> 32)) & mask;
            while (slots[i] != 0) {
                if (slots[i] == v) {
                    return false;
                }
                i = (i + 1) & mask;
            }
            slots[i] = v;
            size++;
            return true;
        }
    }
}
