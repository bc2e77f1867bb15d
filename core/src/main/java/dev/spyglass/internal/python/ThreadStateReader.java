package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * An interpreter's thread states ({@code PyThreadState}, linked by {@code next}): per thread the
 * Python ident, the kernel TID where CPython records it (3.8+ {@code native_thread_id}), whether it
 * holds the GIL, and where its stack starts: ≤3.10 {@code tstate->frame}; 3.11
 * {@code tstate->cframe} (its {@code current_frame} is read by the frame walker); 3.12+
 * {@code tstate->current_frame}; 3.11+ also the data-stack chunk and top. Not thread-safe.
 */
final class ThreadStateReader {
    static final int MAX_THREADS = 4096;

    private final RemoteMemory memory;
    private final StructSpans spans;
    private final ReadAhead ahead;
    private final MemorySegment buf;
    private final boolean chunkFrames;
    private final boolean hasCframe;

    ThreadStateReader(Layout layout, RemoteMemory memory, ReaderSpans spans, ReadAhead ahead, Arena arena) {
        this.memory = memory;
        this.spans = spans.tstate();
        this.ahead = ahead;
        this.buf = arena.allocate(this.spans.bufferSize(), 8);
        this.chunkFrames = layout.version().isAtLeast(3, 11);
        this.hasCframe = layout.has(Field.TSTATE_CFRAME);
    }

    /** Appends a record per thread of {@code interp}; a thread list that cannot be read ends in a torn record. */
    void read(InterpreterWalker.Interpreter interp, ThreadRecords records) throws SpyglassException {
        int threads = 0;
        long tstate = interp.threadHead;
        long first = tstate;
        while (tstate != 0) {
            if (threads++ >= MAX_THREADS || (threads > 1 && tstate == first)) {
                records.next().tear("thread list of interpreter " + interp.id + " does not end");
                return;
            }
            ThreadRecord r = records.next();
            r.tstate = tstate;
            r.interpreterId = interp.id;
            r.firstInterpreter = interp.first;
            int slot = threads - 1;
            if (interp.first && slot < ReadAhead.THREADS) {
                // Position in the list: where this thread's reads ahead go next time. Every use of a
                // read ahead checks its address, so a thread that moved position costs a read.
                r.specSlot = slot;
            }
            MemorySegment tb = buf;
            long at = interp.first ? ahead.threadState(slot, tstate) : -1;
            if (at >= 0) {
                tb = ahead.threadStates(slot);
            } else {
                at = 0;
                spans.queue(memory, tstate, buf);
                if (memory.flush() != spans.ranges()) {
                    r.tear("thread state 0x" + Long.toHexString(tstate) + " unreadable (thread ended)");
                    return;
                }
            }
            if (spans.getLong(tb, at, Field.TSTATE_INTERP) != interp.address) {
                r.tear("thread state 0x" + Long.toHexString(tstate) + " does not belong to its interpreter");
                return;
            }
            fill(r, tb, at, interp);
            tstate = spans.getLong(tb, at, Field.TSTATE_NEXT);
        }
    }

    /**
     * Reads {@code r}'s thread state again, now and not from the look's read-ahead, for a second walk of a
     * thread whose first one was torn: only where its frames start (the frame pointer, 3.11+ the data-stack
     * chunk and top) is taken. {@code false}, with {@code r} torn, when the thread state can no longer be read,
     * or no longer belongs to the interpreter and thread read first (the thread ended, its memory reused).
     */
    boolean reread(ThreadRecord r, InterpreterWalker.Interpreter interp) throws SpyglassException {
        spans.queue(memory, r.tstate, buf);
        if (memory.flush() != spans.ranges()) {
            r.tear("thread state 0x" + Long.toHexString(r.tstate) + " unreadable at the second read (thread ended)");
            return false;
        }
        if (spans.getLong(buf, 0, Field.TSTATE_INTERP) != interp.address
                || spans.getLong(buf, 0, Field.TSTATE_THREAD_ID) != r.pythonThreadId) {
            r.tear("thread state 0x" + Long.toHexString(r.tstate) + " belongs to another thread at the second read");
            return false;
        }
        if (chunkFrames) {
            r.datastackChunk = spans.getLong(buf, 0, Field.TSTATE_DATASTACK_CHUNK);
            r.datastackTop = spans.getLong(buf, 0, Field.TSTATE_DATASTACK_TOP);
            r.topFrame = hasCframe ? spans.getLong(buf, 0, Field.TSTATE_CFRAME)
                    : spans.getLong(buf, 0, Field.TSTATE_CURRENT_FRAME);
        } else {
            r.topFrame = spans.getLong(buf, 0, Field.TSTATE_FRAME);
        }
        return true;
    }

    /**
     * Whether the thread state read again now still belongs to the thread a walk just read, and (3.11, 3.12)
     * still points at the cframe the walk started from: a cframe is on the C stack of one evaluation loop call, so
     * a different one means that call returned while it was read (its memory may be reused). Frame pointers
     * themselves change at every Python call, so they are not compared: a running thread would never pass.
     */
    boolean unchanged(ThreadRecord r, InterpreterWalker.Interpreter interp) throws SpyglassException {
        spans.queue(memory, r.tstate, buf);
        if (memory.flush() != spans.ranges() || spans.getLong(buf, 0, Field.TSTATE_INTERP) != interp.address
                || spans.getLong(buf, 0, Field.TSTATE_THREAD_ID) != r.pythonThreadId) {
            return false;
        }
        return !hasCframe || spans.getLong(buf, 0, Field.TSTATE_CFRAME) == r.topFrame;
    }

    private void fill(ThreadRecord r, MemorySegment tb, long at, InterpreterWalker.Interpreter interp) {
        r.pythonThreadId = spans.getLong(tb, at, Field.TSTATE_THREAD_ID);
        if (spans.has(Field.TSTATE_NATIVE_THREAD_ID)) {
            long tid = spans.getLong(tb, at, Field.TSTATE_NATIVE_THREAD_ID);
            // native_thread_id is an unsigned long; only its low 32 bits hold a pid_t.
            r.nativeThreadId = tid > 0 && tid < (1L << 31) ? tid : -1;
        }
        if (interp.gilKnown) {
            r.gil = interp.gilLocked && interp.gilHolder == r.tstate ? 2 : 1;
        }
        if (chunkFrames) {
            r.datastackChunk = spans.getLong(tb, at, Field.TSTATE_DATASTACK_CHUNK);
            r.datastackTop = spans.getLong(tb, at, Field.TSTATE_DATASTACK_TOP);
            r.topFrame = hasCframe ? spans.getLong(tb, at, Field.TSTATE_CFRAME)
                    : spans.getLong(tb, at, Field.TSTATE_CURRENT_FRAME);
        } else {
            r.topFrame = spans.getLong(tb, at, Field.TSTATE_FRAME);
        }
    }
}
