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
    private long[] distinct = new long[64];
    private CodeEntry[] distinctEntry = new CodeEntry[64];
    private boolean[] distinctSkip = new boolean[64];
    private final long[] keyWords;
    private final boolean[] codeKeyInt;
    private final LongMap<long[]> pthreadTids = new LongMap<>(64);
    private final VisitedSet visited = new VisitedSet();
    private long pthreadTidOffset = -1;
    private long lastCalibration;

    /** Monotonic counters for tests and diagnostics. */
    private long codeDecodes;

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

        interpSpans = StructSpans.of(layout, Field.INTERP_NEXT, Field.INTERP_TSTATE_HEAD, Field.INTERP_ID,
                Field.INTERP_GIL_PTR);
        tstateSpans = StructSpans.of(layout, Field.TSTATE_NEXT, Field.TSTATE_INTERP, Field.TSTATE_FRAME,
                Field.TSTATE_CFRAME, Field.TSTATE_CURRENT_FRAME, Field.TSTATE_THREAD_ID, Field.TSTATE_NATIVE_THREAD_ID,
                Field.TSTATE_DATASTACK_CHUNK, Field.TSTATE_DATASTACK_TOP);
        frameSpans = frames311
                ? StructSpans.of(layout, Field.IFRAME_PREVIOUS, Field.IFRAME_EXECUTABLE, Field.IFRAME_INSTR_PTR,
                        Field.IFRAME_OWNER)
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
        if (memory.flush() != expected) {
            throw new SpyglassException("process " + pid + ": cannot read the interpreter list at 0x"
                    + Long.toHexString(loc.headAddress()) + " in " + loc.objectPath());
        }
        long interp = runtimeBuf.get(ValueLayout.JAVA_LONG, 0);
        boolean runtimeGil = expected > 1;
        boolean gilLocked = runtimeGil && runtimeBuf.get(ValueLayout.JAVA_INT, 8) != 0;
        long gilHolder = runtimeGil ? runtimeBuf.get(ValueLayout.JAVA_LONG, 16) : 0;

        int interps = 0;
        while (interp != 0 && interps++ < MAX_INTERPRETERS) {
            interpSpans.queue(memory, interp, interpBuf);
            if (memory.flush() != interpSpans.ranges()) {
                // The interpreter was freed while we read: the rest of the list is unknown.
                ThreadRecord r = nextRecord();
                r.tear("interpreter at 0x" + Long.toHexString(interp) + " unreadable");
                break;
            }
            long next = interpSpans.getLong(interpBuf, Field.INTERP_NEXT);
            long tstate = interpSpans.getLong(interpBuf, Field.INTERP_TSTATE_HEAD);
            long interpId = interpSpans.has(Field.INTERP_ID) ? interpSpans.getLong(interpBuf, Field.INTERP_ID) : 0;
            boolean gilKnown = runtimeGil;
            boolean locked = gilLocked;
            long holder = gilHolder;
            if (interpSpans.has(Field.INTERP_GIL_PTR)) {
                long gil = interpSpans.getLong(interpBuf, Field.INTERP_GIL_PTR);
                if (gil != 0 && gilSpans.ranges() > 0) {
                    gilSpans.queue(memory, gil, gilBuf);
                    if (memory.flush() == gilSpans.ranges()) {
                        gilKnown = true;
                        locked = gilSpans.getInt(gilBuf, Field.GIL_LOCKED) != 0;
                        holder = gilSpans.getLong(gilBuf, Field.GIL_LAST_HOLDER);
                    }
                }
            }
            readThreadList(interp, tstate, interpId, gilKnown, locked, holder, runningOnly);
            interp = next;
        }
        return count;
    }

    private void readThreadList(long interp, long tstate, long interpId, boolean gilKnown, boolean locked, long holder,
            boolean runningOnly) throws SpyglassException {
        int firstRecord = count;
        readThreadStates(interp, tstate, interpId, gilKnown, locked, holder);
        for (int i = firstRecord; i < count; i++) {
            ThreadRecord r = records[i];
            if (r.torn) {
                continue;
            }
            if (r.nativeThreadId < 0 && tasks != null) {
                r.nativeThreadId = tidFromPthread(r.pythonThreadId);
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
            long holder) throws SpyglassException {
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
            tstateSpans.queue(memory, tstate, tstateBuf);
            if (memory.flush() != tstateSpans.ranges()) {
                r.tear("thread state 0x" + Long.toHexString(tstate) + " unreadable (thread ended)");
                return;
            }
            if (tstateSpans.getLong(tstateBuf, Field.TSTATE_INTERP) != interp) {
                r.tear("thread state 0x" + Long.toHexString(tstate) + " does not belong to its interpreter");
                return;
            }
            long next = tstateSpans.getLong(tstateBuf, Field.TSTATE_NEXT);
            r.pythonThreadId = tstateSpans.getLong(tstateBuf, Field.TSTATE_THREAD_ID);
            if (tstateSpans.has(Field.TSTATE_NATIVE_THREAD_ID)) {
                long tid = tstateSpans.getLong(tstateBuf, Field.TSTATE_NATIVE_THREAD_ID);
                // native_thread_id is an unsigned long; only its low 32 bits hold a pid_t.
                r.nativeThreadId = tid > 0 && tid < (1L << 31) ? tid : -1;
            }
            if (gilKnown) {
                r.gil = locked && holder == tstate ? 2 : 1;
            }
            if (frames311) {
                r.datastackChunk = tstateSpans.getLong(tstateBuf, Field.TSTATE_DATASTACK_CHUNK);
                r.datastackTop = tstateSpans.getLong(tstateBuf, Field.TSTATE_DATASTACK_TOP);
                r.topFrame = hasCframe ? tstateSpans.getLong(tstateBuf, Field.TSTATE_CFRAME)
                        : tstateSpans.getLong(tstateBuf, Field.TSTATE_CURRENT_FRAME);
            } else {
                r.topFrame = tstateSpans.getLong(tstateBuf, Field.TSTATE_FRAME);
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
            frameSpans.queue(memory, f, frameBuf);
            if (memory.flush() != frameSpans.ranges()) {
                r.tear("frame 0x" + Long.toHexString(f) + " unreadable");
                return -1;
            }
            ensureFrameCapacity(n);
            frameCode[n] = frameSpans.getLong(frameBuf, Field.FRAME_CODE);
            frameInstr[n] = frameSpans.getInt(frameBuf, Field.FRAME_LASTI);
            n++;
            f = frameSpans.getLong(frameBuf, Field.FRAME_BACK);
        }
        return n;
    }

    /** 3.11+: frames in the thread's data-stack chunk, copied in one read and walked locally. */
    private int collect311(ThreadRecord r) throws MemoryFault, SpyglassException {
        long chunk = r.datastackChunk;
        long top = r.datastackTop;
        long chunkLen = 0;
        int queued = 0;
        int cframeIndex = -1;
        if (hasCframe) {
            if (r.topFrame == 0) {
                return 0;
            }
            cframeIndex = memory.add(r.topFrame + layout.require(Field.CFRAME_CURRENT_FRAME), wordBuf);
            queued++;
        }
        if (chunk != 0 && top > chunk && top - chunk <= MAX_CHUNK_BYTES) {
            chunkLen = top - chunk;
            if (chunkBuf.byteSize() < chunkLen) {
                chunkBuf = arena.allocate(Math.max(chunkLen, chunkBuf.byteSize() * 2), 16);
            }
            memory.add(chunk, chunkBuf, 0, chunkLen);
            queued++;
        }
        int done = memory.flush();
        long frame;
        if (hasCframe) {
            if (done < 1) {
                r.tear("cframe unreadable");
                return -1;
            }
            frame = wordBuf.get(ValueLayout.JAVA_LONG, 0);
        } else {
            frame = r.topFrame;
        }
        if (done < queued) {
            chunkLen = 0; // the chunk copy failed: read frames one by one
        }
        long frameExtent = frameSpans.extent();
        long prevOff = layout.require(Field.IFRAME_PREVIOUS);
        long execOff = layout.require(Field.IFRAME_EXECUTABLE);
        long instrOff = layout.require(Field.IFRAME_INSTR_PTR);
        long ownerOff = layout.has(Field.IFRAME_OWNER) ? layout.offset(Field.IFRAME_OWNER) : -1;
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
            long rel = frame - chunk;
            if (chunkLen > 0 && rel >= 0 && rel + frameExtent <= chunkLen) {
                previous = chunkBuf.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + prevOff);
                exec = chunkBuf.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + execOff);
                instr = chunkBuf.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + instrOff);
                owner = ownerOff < 0 ? 0 : chunkBuf.get(ValueLayout.JAVA_BYTE, rel + ownerOff) & 0xff;
            } else {
                frameSpans.queue(memory, frame, frameBuf);
                if (memory.flush() != frameSpans.ranges()) {
                    r.tear("frame 0x" + Long.toHexString(frame) + " unreadable");
                    return -1;
                }
                previous = frameSpans.getLong(frameBuf, Field.IFRAME_PREVIOUS);
                exec = frameSpans.getLong(frameBuf, Field.IFRAME_EXECUTABLE);
                instr = frameSpans.getLong(frameBuf, Field.IFRAME_INSTR_PTR);
                owner = frameSpans.getByte(frameBuf, Field.IFRAME_OWNER);
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
                    n++;
                }
            }
            frame = previous;
        }
        return n;
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
        for (int start = 0; start < d; start += perBatch) {
            int end = Math.min(d, start + perBatch);
            for (int j = start; j < end; j++) {
                codeSpans.queue(memory, distinct[j], codeBuf, (long) (j - start) * codeStride);
            }
            if (memory.flush() != (end - start) * ranges) {
                r.tear("code object unreadable");
                return;
            }
            for (int j = start; j < end; j++) {
                distinctSkip[j] = false;
                distinctEntry[j] = null;
                CodeEntry e = entryFor(r, distinct[j], (long) (j - start) * codeStride);
                if (r.torn) {
                    return;
                }
                if (e == null) {
                    distinctSkip[j] = true;
                } else {
                    distinctEntry[j] = e;
                }
            }
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

    /** The cached entry if still valid, else a freshly decoded one; null for a non-code executable (3.13+). */
    private CodeEntry entryFor(ThreadRecord r, long address, long at) throws SpyglassException {
        for (int k = 0; k < codeKeyFields.length; k++) {
            Field f = codeKeyFields[k];
            keyWords[k] = codeKeyInt[k] ? codeSpans.getInt(codeBuf, at, f) : codeSpans.getLong(codeBuf, at, f);
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
            CodeEntry e = decode(codeBuf.asSlice(at, codeStride));
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
        return new CodeEntry(key, name, qualname, file, lines, frames311, codeBytes);
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
        long[] cached = pthreadTids.get(pthread);
        if (cached != null && tasks.exists(cached[0])) {
            return cached[0];
        }
        if (pthreadTidOffset < 0) {
            calibrate(pthread);
            if (pthreadTidOffset < 0) {
                return -1;
            }
        }
        try {
            long tid = memory.readInt(pthread + pthreadTidOffset);
            if (tid > 0 && tasks.exists(tid)) {
                pthreadTids.put(pthread, new long[] {tid});
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
                    if (buf.get(ValueLayout.JAVA_INT, off) != pid) {
                        continue;
                    }
                    if (offsetWorksForAll(off, pthreads, np)) {
                        pthreadTidOffset = off;
                        LOG.debug("process {}: struct pthread tid at offset {}", pid, off);
                        return;
                    }
                }
            }
        }
    }

    private boolean offsetWorksForAll(long off, long[] pthreads, int np) throws SpyglassException {
        for (int i = 0; i < np; i++) {
            try {
                int tid = memory.readInt(pthreads[i] + off);
                if (tid <= 0 || !tasks.exists(tid)) {
                    return false;
                }
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
