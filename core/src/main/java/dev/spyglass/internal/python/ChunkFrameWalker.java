package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * CPython 3.11+: {@code _PyInterpreterFrame}s live in the thread's data-stack chunks. The newest chunk
 * is copied in one read (up to {@code datastack_top}) and the frames are walked locally along
 * {@code previous}; older chunks are copied when the walk first reaches them; frames outside every
 * chunk (generators, 3.12+ entry frames on the C stack) cost one read each.
 *
 * <p>The era's rules, taken from the layout once: 3.11 reaches the top frame through
 * {@code tstate->cframe->current_frame} and marks entry frames with {@code is_entry}; 3.12+ push a shim
 * frame owned by the C stack ({@code FRAME_OWNED_BY_CSTACK}) below each entry frame, 3.14+ one owned
 * by the interpreter ({@code FRAME_OWNED_BY_INTERPRETER}, the same value 3): frames whose owner is at
 * least the first non-Python owner are not Python frames; 3.13+ {@code f_executable} may be None or another object (skipped, not torn); 3.14
 * tags it as a {@code _PyStackRef} (low bits cleared); 3.14t adds the per-thread bytecode index.
 *
 * <p>A running thread's frames are read while it runs, and an entry frame on the C stack is read apart
 * from the frame that links to it: by then the C call may have returned and its stack memory been
 * reused (a Python function called back from C, millions of times a second, as by {@code qsort}). Such
 * a read is torn, never a short stack, by rules every real chain keeps: a frame owned by the thread
 * lives in its data-stack chunks; its owner is a value the version defines; the outermost frame is
 * where a C-level call of the evaluation loop began (3.12+ a shim frame, 3.11 a frame marked
 * {@code is_entry}); 3.12+ every shim's executable is the same object (3.13+ None, 3.12 its interpreter's trampoline code); 3.11 and 3.12 a cframe on
 * the C stack has a current frame.
 */
final class ChunkFrameWalker implements FrameWalker {
    /** A chunk's size is set by CPython (16 KiB and doubling); more is garbage. */
    static final long MAX_CHUNK_BYTES = 64L << 20;
    private static final int MAX_OLD_CHUNKS = 64;
    /** {@code FRAME_OWNED_BY_THREAD}, 0 in every version with an owner: such a frame is in a data-stack chunk. */
    private static final int OWNED_BY_THREAD = 0;

    private final RemoteMemory memory;
    private final Layout layout;
    private final StructSpans frameSpans;
    private final ReadAhead ahead;
    private final Arena arena;
    private final boolean hasCframe;
    private final boolean skipNonCode;
    private final long tagMask;
    private final long firstNonPythonOwner;
    /** The highest owner value the version defines: 3.12, 3.13 and 3.15 3; 3.14 4 (CSTACK); 3.11 (no shims) 3. */
    private final long lastOwner;
    private final long tstateSize;
    /**
     * The executable of every shim frame of an interpreter, once two shims of one walk agreed on it: 3.13+
     * {@code Py_None} (one object for all interpreters), 3.12 {@code f_code} = the interpreter's
     * {@code interpreter_trampoline} (one per interpreter, hence keyed by interpreter id). Stale C stack memory
     * can read as a shim frame (a valid owner, previous NULL): its executable is then almost never that object.
     */
    private final long[] shimInterpreter = new long[MAX_SHIM_INTERPRETERS];
    private final long[] shimExecutable = new long[MAX_SHIM_INTERPRETERS];
    private int shimKnown;
    private static final int MAX_SHIM_INTERPRETERS = 8;
    /** Shims are checked (3.12+: they exist; 3.11 marks entry frames instead). */
    private final boolean hasShims;
    private final long prevOff;
    private final long execOff;
    private final long instrOff;
    private final long ownerOff;
    private final long entryOff;
    private final long tlbcOff;
    private final MemorySegment frameBuf;
    private final MemorySegment wordBuf;
    private MemorySegment chunkBuf;
    private final OldChunks old;
    private final VisitedSet visited = new VisitedSet();
    /** Frames the last walk read one by one (outside every chunk), and their previous and executable words. */
    private static final int MAX_RECHECKED = 16;
    private final long[] apart = new long[MAX_RECHECKED];
    private final long[] apartPrevious = new long[MAX_RECHECKED];
    private final long[] apartExecutable = new long[MAX_RECHECKED];
    private int apartCount;
    private final MemorySegment recheckBuf;

    ChunkFrameWalker(Layout layout, RemoteMemory memory, ReaderSpans spans, ReadAhead ahead, Arena arena) {
        this.memory = memory;
        this.layout = layout;
        this.frameSpans = spans.frame();
        this.ahead = ahead;
        this.arena = arena;
        this.hasCframe = layout.has(Field.TSTATE_CFRAME);
        this.skipNonCode = FrameWalker.executableMayBeNonCode(layout);
        this.tagMask = optional(layout, Field.CONST_STACKREF_TAG_MASK, 0);
        this.firstNonPythonOwner = layout.has(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)
                ? layout.offset(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)
                : optional(layout, Field.CONST_FRAME_OWNED_BY_CSTACK, Long.MAX_VALUE);
        this.lastOwner = Math.max(firstNonPythonOwner, optional(layout, Field.CONST_FRAME_OWNED_BY_CSTACK, 0));
        this.tstateSize = optional(layout, Field.SIZEOF_TSTATE, 0);
        this.hasShims = layout.version().isAtLeast(3, 12);
        this.prevOff = layout.require(Field.IFRAME_PREVIOUS);
        this.execOff = layout.require(Field.IFRAME_EXECUTABLE);
        this.instrOff = layout.require(Field.IFRAME_INSTR_PTR);
        this.ownerOff = optional(layout, Field.IFRAME_OWNER, -1);
        this.entryOff = optional(layout, Field.IFRAME_IS_ENTRY, -1);
        this.tlbcOff = optional(layout, Field.IFRAME_TLBC_INDEX, -1);
        this.frameBuf = arena.allocate(frameSpans.bufferSize(), 8);
        this.recheckBuf = arena.allocate((long) frameSpans.bufferSize() * MAX_RECHECKED, 8);
        this.wordBuf = arena.allocate(8, 8);
        this.chunkBuf = arena.allocate(64 << 10, 16);
        this.old = new OldChunks(layout, memory, ahead.oldChunks(), arena, MAX_OLD_CHUNKS);
    }

    private static long optional(Layout layout, Field f, long absent) {
        return layout.has(f) ? layout.offset(f) : absent;
    }

    @Override
    public int walk(ThreadRecord r, WalkedFrames out) throws MemoryFault, SpyglassException {
        long chunk = r.datastackChunk;
        long top = r.datastackTop;
        int slot = r.specSlot;
        boolean cframeAhead = ahead.hasCurrentFrame(slot, r.topFrame);
        MemorySegment chunkData = ahead.chunk(slot, chunk, top);
        long chunkLen = chunkData != null ? top - chunk : 0;
        int queued = 0;
        if (hasCframe) {
            if (r.topFrame == 0) {
                return 0;
            }
            if (!cframeAhead) {
                memory.add(r.topFrame + layout.require(Field.CFRAME_CURRENT_FRAME), wordBuf);
                queued++;
            }
        }
        boolean chunkQueued = false;
        if (chunkData == null && chunk != 0 && top > chunk && top - chunk <= MAX_CHUNK_BYTES) {
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
        if (!hasCframe) {
            frame = r.topFrame;
        } else if (cframeAhead) {
            frame = ahead.currentFrame(slot);
        } else if (done < 1) {
            r.tear("cframe unreadable");
            return -1;
        } else {
            frame = wordBuf.get(ValueLayout.JAVA_LONG, 0);
        }
        if (hasCframe && frame == 0 && tstateSize > 0 && (r.topFrame < r.tstate || r.topFrame >= r.tstate + tstateSize)) {
            // 3.11, 3.12: only the thread state's root cframe has no current frame; one on the C stack (of an
            // evaluation loop call) always has one, so a NULL there was read after that call returned.
            r.tear("cframe on the C stack without a current frame");
            return -1;
        }
        if (chunkQueued && done < queued) {
            chunkLen = 0; // the chunk copy failed: read frames one by one
        }
        if (chunkLen >= 16 && layout.has(Field.CHUNK_SIZE)) {
            r.chunkSize = chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.offset(Field.CHUNK_SIZE));
        }
        old.begin(chunkLen >= 8 ? chunkData.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.offset(Field.CHUNK_PREVIOUS)) : 0,
                slot);
        return walkFrames(r, out, frame, chunk, chunkData, chunkLen);
    }

    private int walkFrames(ThreadRecord r, WalkedFrames out, long frame, long chunk, MemorySegment chunkData,
            long chunkLen) throws SpyglassException {
        long frameExtent = frameSpans.extent();
        int slot = r.specSlot;
        int n = 0;
        int steps = 0;
        // Whether the frame read last may end a chain: a shim frame (3.12+) or an entry frame (3.11).
        boolean closes = true;
        long shimSeen = 0;
        visited.clear();
        apartCount = 0;
        while (frame != 0) {
            if (steps++ >= MAX_DEPTH || !visited.add(frame)) {
                r.tear(steps >= MAX_DEPTH ? "stack deeper than " + MAX_DEPTH : "frame cycle");
                return -1;
            }
            if ((frame & 7) != 0) {
                r.tear("misaligned frame pointer");
                return -1;
            }
            // Where a copy of this frame is: the newest chunk, an older chunk, the read-ahead, or a read now.
            MemorySegment src;
            long at = frame - chunk;
            boolean whole = true;
            if (chunkLen > 0 && at >= 0 && at + frameExtent <= chunkLen) {
                src = chunkData;
            } else if ((src = old.find(frame, frameExtent)) != null) {
                at = frame - old.foundAddress();
            } else {
                whole = false;
                at = ahead.frames().find(slot, frame, frameSpans.bufferSize());
                if (at >= 0) {
                    src = ahead.frames().buffer();
                } else {
                    frameSpans.queue(memory, frame, frameBuf);
                    if (memory.flush() != frameSpans.ranges()) {
                        r.tear("frame 0x" + Long.toHexString(frame) + " unreadable");
                        return -1;
                    }
                    src = frameBuf;
                    at = 0;
                }
                ahead.frames().note(slot, frame);
            }
            int owner = ownerOff < 0 ? -1 : whole ? src.get(ValueLayout.JAVA_BYTE, at + ownerOff) & 0xff
                    : frameSpans.getByte(src, at, Field.IFRAME_OWNER);
            if (owner == OWNED_BY_THREAD && !whole && chunkLen > 0) {
                // A thread's own frames are pushed on its data stack (every chunk was searched above): this is
                // stale memory, e.g. a 3.12+ entry frame on the C stack read after its C call returned.
                r.tear("thread-owned frame 0x" + Long.toHexString(frame) + " outside the data stack");
                return -1;
            }
            if (owner > lastOwner) {
                // No owner value is this high: stale C stack memory read as a 3.12+ entry frame.
                r.tear("frame 0x" + Long.toHexString(frame) + " with owner " + owner);
                return -1;
            }
            if (owner >= firstNonPythonOwner && hasShims) {
                long exec = whole ? src.get(ValueLayout.JAVA_LONG_UNALIGNED, at + execOff)
                        : frameSpans.getLong(src, at, Field.IFRAME_EXECUTABLE);
                long known = shimExecutable(r.interpreterId);
                if (known != 0 && exec != known) {
                    r.tear("shim frame 0x" + Long.toHexString(frame) + " with executable 0x" + Long.toHexString(exec));
                    return -1;
                }
                if (known == 0 && shimSeen == exec && exec != 0) {
                    learnShimExecutable(r.interpreterId, exec);
                }
                shimSeen = exec;
            }
            closes = owner >= firstNonPythonOwner || (entryOff >= 0 && (whole
                    ? src.get(ValueLayout.JAVA_BYTE, at + entryOff) != 0 : frameSpans.getByte(src, at, Field.IFRAME_IS_ENTRY) != 0));
            n = whole ? addRawFrame(out, src, at, n) : addSpanFrame(out, src, at, n);
            if (n < 0) {
                r.tear("frame without code object");
                return -1;
            }
            long previous = whole ? src.get(ValueLayout.JAVA_LONG_UNALIGNED, at + prevOff)
                    : frameSpans.getLong(src, at, Field.IFRAME_PREVIOUS);
            if (!whole) {
                noteApart(frame, previous, frameSpans.getLong(src, at, Field.IFRAME_EXECUTABLE));
            }
            frame = previous;
        }
        if (!closes) {
            // Every evaluation loop call links its first frame to the thread's current frame of that moment
            // (3.12+ through its shim), so a chain that ends elsewhere was cut by a link read while it changed.
            r.tear("frame chain ends at a frame no evaluation loop call began with");
            return -1;
        }
        return n;
    }

    private long shimExecutable(long interpreterId) {
        // 3.13+: one object for every interpreter.
        long key = skipNonCode ? 0 : interpreterId;
        for (int i = 0; i < shimKnown; i++) {
            if (shimInterpreter[i] == key) {
                return shimExecutable[i];
            }
        }
        return 0;
    }

    private void learnShimExecutable(long interpreterId, long exec) {
        if (shimKnown < MAX_SHIM_INTERPRETERS) {
            shimInterpreter[shimKnown] = skipNonCode ? 0 : interpreterId;
            shimExecutable[shimKnown++] = exec;
        }
    }

    private void noteApart(long frame, long previous, long executable) {
        if (apartCount < MAX_RECHECKED) {
            apart[apartCount] = frame;
            apartPrevious[apartCount] = previous;
            apartExecutable[apartCount] = executable;
        }
        apartCount++;
    }

    @Override
    public boolean unchangedSinceWalk() throws SpyglassException {
        if (apartCount > MAX_RECHECKED) {
            return false; // not all can be checked again: not kept
        }
        if (apartCount == 0) {
            return true;
        }
        int size = frameSpans.bufferSize();
        for (int i = 0; i < apartCount; i++) {
            frameSpans.queue(memory, apart[i], recheckBuf, (long) i * size);
        }
        if (memory.flush() != apartCount * frameSpans.ranges()) {
            return false;
        }
        for (int i = 0; i < apartCount; i++) {
            long at = (long) i * size;
            if (frameSpans.getLong(recheckBuf, at, Field.IFRAME_PREVIOUS) != apartPrevious[i]
                    || frameSpans.getLong(recheckBuf, at, Field.IFRAME_EXECUTABLE) != apartExecutable[i]) {
                return false;
            }
        }
        return true;
    }

    /** A frame copied whole (from a chunk): fields at their struct offsets. Returns the new count, -1 to tear. */
    private int addRawFrame(WalkedFrames out, MemorySegment src, long rel, int n) {
        long exec = src.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + execOff);
        long instr = src.get(ValueLayout.JAVA_LONG_UNALIGNED, rel + instrOff);
        int owner = ownerOff < 0 ? 0 : src.get(ValueLayout.JAVA_BYTE, rel + ownerOff) & 0xff;
        boolean entry = entryOff >= 0 && src.get(ValueLayout.JAVA_BYTE, rel + entryOff) != 0;
        int tlbc = tlbcOff < 0 ? 0 : src.get(ValueLayout.JAVA_INT_UNALIGNED, rel + tlbcOff);
        return add(out, exec, instr, owner, entry, tlbc, n);
    }

    /** A frame read through the frame spans. Returns the new count, -1 to tear. */
    private int addSpanFrame(WalkedFrames out, MemorySegment src, long at, int n) {
        long exec = frameSpans.getLong(src, at, Field.IFRAME_EXECUTABLE);
        long instr = frameSpans.getLong(src, at, Field.IFRAME_INSTR_PTR);
        int owner = frameSpans.getByte(src, at, Field.IFRAME_OWNER);
        boolean entry = frameSpans.getByte(src, at, Field.IFRAME_IS_ENTRY) != 0;
        int tlbc = tlbcOff < 0 ? 0 : frameSpans.getInt(src, at, Field.IFRAME_TLBC_INDEX);
        return add(out, exec, instr, owner, entry, tlbc, n);
    }

    private int add(WalkedFrames out, long exec, long instr, int owner, boolean entry, int tlbc, int n) {
        if (owner >= firstNonPythonOwner) {
            // 3.12+: the shim frame of a C-level call of the evaluation loop (3.14+: owned by the
            // interpreter, or the thread's base frame): the Python frame above it is where that call started.
            out.markLastAsEntry();
            return n;
        }
        exec &= ~tagMask;
        if (exec == 0 || (exec & 7) != 0) {
            // 3.13+: a frame may have no code object (f_executable None); before, it means a torn read.
            return skipNonCode ? n : -1;
        }
        out.add(exec, instr, tlbc, entry);
        return n + 1;
    }
}
