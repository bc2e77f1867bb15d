package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The runtime and its interpreters: reads the head of the interpreter list (and where the version
 * keeps it there, the GIL: ≤3.11 {@code _PyRuntime.ceval.gil}, 2.7/3.6 {@code _PyThreadState_Current})
 * in the look's first call, together with the read-ahead, then each interpreter and its GIL (3.12+:
 * {@code interp->ceval.gil}). The list is re-read on every look, so sub-interpreters created after
 * attach are seen. Not thread-safe.
 */
final class InterpreterWalker {
    static final int MAX_INTERPRETERS = 256;

    /** One interpreter as the visitor sees it; reused. */
    static final class Interpreter {
        long address;
        long threadHead;
        long id;
        boolean gilKnown;
        boolean gilLocked;
        long gilHolder;
        /**
         * The interpreter's cyclic garbage collector is running (3.9+ per interpreter; 2.7 - 3.8 one
         * collector for the runtime; false where unknown).
         */
        boolean gcCollecting;
        boolean first;
    }

    interface Visitor {
        void visit(Interpreter interpreter) throws SpyglassException;
    }

    private final long pid;
    private final RemoteMemory memory;
    private final LocatedInterpreter loc;
    private final StructSpans interpSpans;
    private final StructSpans gilSpans;
    private final ReadAhead ahead;
    private final boolean freeThreaded;
    private final MemorySegment runtimeBuf;
    private final MemorySegment interpBuf;
    private final MemorySegment gilBuf;
    private final long[] seen = new long[MAX_INTERPRETERS];
    private final Interpreter current = new Interpreter();
    private long firstAddress;
    private long firstGil;
    private long finalizing;
    /** A range read first in the look's first call for the caller (the target's identity), or 0. */
    private long piggybackAddress;
    private MemorySegment piggybackBuf;

    InterpreterWalker(long pid, RemoteMemory memory, LocatedInterpreter loc, ReaderSpans spans, ReadAhead ahead,
            Arena arena) {
        this.pid = pid;
        this.memory = memory;
        this.loc = loc;
        this.interpSpans = spans.interp();
        this.gilSpans = spans.gil();
        this.ahead = ahead;
        this.freeThreaded = loc.version().freeThreaded();
        this.runtimeBuf = arena.allocate(64, 8);
        this.interpBuf = arena.allocate(interpSpans.bufferSize(), 8);
        this.gilBuf = arena.allocate(Math.max(gilSpans.bufferSize(), 8), 8);
    }

    /** The first interpreter of the latest walk (what to read ahead next time), or 0. */
    long firstAddress() {
        return firstAddress;
    }

    /** The first interpreter's GIL struct (3.12+) of the latest walk, or 0. */
    long firstGil() {
        return firstGil;
    }

    /**
     * The thread state finalising the runtime as of the latest walk (3.6+: set by {@code Py_FinalizeEx}
     * once the atexit handlers have run), or 0: not finalising, or unknown (2.7).
     */
    long finalizingThread() {
        return finalizing;
    }

    /**
     * Reads {@code dst.byteSize()} bytes at {@code address} into {@code dst} in the first call of every
     * look, ahead of the runtime words: a look that fails to read it fails as a whole.
     */
    void piggyback(long address, MemorySegment dst) {
        piggybackAddress = address;
        piggybackBuf = dst;
    }

    /** Visits every interpreter; a list that loops or an interpreter that cannot be read ends in a torn record. */
    void walk(ThreadRecords records, Visitor visitor) throws SpyglassException {
        boolean runtimeGil = readRuntime();
        long interp = runtimeBuf.get(ValueLayout.JAVA_LONG, 0);
        finalizing = loc.finalizingAddress() != 0 ? runtimeBuf.get(ValueLayout.JAVA_LONG, 24) : 0;
        boolean runtimeGc = loc.gcCollectingAddress() != 0 && runtimeBuf.get(ValueLayout.JAVA_INT, 32) != 0;
        boolean gilLocked = runtimeGil && runtimeBuf.get(ValueLayout.JAVA_INT, 8) != 0;
        long gilHolder = runtimeGil ? runtimeBuf.get(ValueLayout.JAVA_LONG, 16) : 0;
        int n = 0;
        firstAddress = interp;
        firstGil = 0;
        while (interp != 0 && n < MAX_INTERPRETERS) {
            if (seen(interp, n)) {
                // A list that loops (garbage, or a torn read of a list being changed): each thread once.
                records.next().tear("interpreter list loops back to 0x" + Long.toHexString(interp));
                break;
            }
            seen[n++] = interp;
            Interpreter it = current;
            it.first = n == 1;
            MemorySegment ib = it.first ? ahead.interpreter(interp) : null;
            if (ib == null) {
                ib = interpBuf;
                interpSpans.queue(memory, interp, interpBuf);
                if (memory.flush() != interpSpans.ranges()) {
                    // The interpreter was freed while we read: the rest of the list is unknown.
                    records.next().tear("interpreter at 0x" + Long.toHexString(interp) + " unreadable");
                    break;
                }
            }
            it.address = interp;
            it.threadHead = interpSpans.getLong(ib, Field.INTERP_TSTATE_HEAD);
            it.id = interpSpans.has(Field.INTERP_ID) ? interpSpans.getLong(ib, Field.INTERP_ID) : 0;
            it.gcCollecting = interpSpans.has(Field.INTERP_GC_COLLECTING)
                    ? interpSpans.getInt(ib, Field.INTERP_GC_COLLECTING) != 0 : runtimeGc;
            it.gilKnown = runtimeGil;
            it.gilLocked = gilLocked;
            it.gilHolder = gilHolder;
            if (interpSpans.has(Field.INTERP_GIL_PTR)) {
                readGil(it, interpSpans.getLong(ib, Field.INTERP_GIL_PTR));
            }
            if (freeThreaded) {
                // 3.13t+ run without a GIL (the struct exists, unused unless an extension re-enables
                // it): "held" means nothing, so it is reported unknown.
                it.gilKnown = false;
            }
            long next = interpSpans.getLong(ib, Field.INTERP_NEXT);
            visitor.visit(it);
            interp = next;
        }
    }

    /**
     * The look's first call: the interpreter list head and, where the runtime keeps it, the GIL
     * (≤3.11 {@code _PyRuntime.ceval.gil}; 2.7, 3.6 {@code _PyThreadState_Current}), and the thread
     * finalising the runtime, with the read-ahead.
     *
     * @return whether the GIL was read from the runtime
     */
    private boolean readRuntime() throws SpyglassException {
        Layout layout = loc.layout();
        long gilLockedAddr = 0;
        long gilHolderAddr = 0;
        if (loc.runtimeAddress() != 0 && layout.has(Field.RUNTIME_GIL_LOCKED) && layout.has(Field.RUNTIME_GIL_LAST_HOLDER)) {
            gilLockedAddr = loc.runtimeAddress() + layout.offset(Field.RUNTIME_GIL_LOCKED);
            gilHolderAddr = loc.runtimeAddress() + layout.offset(Field.RUNTIME_GIL_LAST_HOLDER);
        }
        int extra = 0;
        if (piggybackAddress != 0) {
            memory.add(piggybackAddress, piggybackBuf, 0, piggybackBuf.byteSize());
            extra = 1;
        }
        memory.add(loc.headAddress(), runtimeBuf, 0, 8);
        int expected = 1;
        if (gilLockedAddr != 0) {
            memory.add(gilLockedAddr, runtimeBuf, 8, 4);
            memory.add(gilHolderAddr, runtimeBuf, 16, 8);
            expected = 3;
        } else if (loc.tstateCurrentAddress() != 0) {
            // 2.7, 3.6: the thread state holding the GIL; "locked" whenever one holds it.
            memory.add(loc.tstateCurrentAddress(), runtimeBuf, 16, 8);
            runtimeBuf.set(ValueLayout.JAVA_INT, 8, 1);
            expected = 2;
        }
        boolean runtimeGil = expected > 1;
        if (loc.finalizingAddress() != 0) {
            memory.add(loc.finalizingAddress(), runtimeBuf, 24, 8);
            expected++;
        }
        if (loc.gcCollectingAddress() != 0) {
            memory.add(loc.gcCollectingAddress(), runtimeBuf, 32, 4);
            expected++;
        }
        if (ahead.flush(expected + extra) < expected + extra) {
            throw new SpyglassException("process " + pid + ": cannot read the interpreter list at 0x"
                    + Long.toHexString(loc.headAddress()) + " in " + loc.objectPath());
        }
        return runtimeGil;
    }

    /** 3.12+: the GIL lives in {@code interp->ceval.gil}, one per interpreter (PEP 684). */
    private void readGil(Interpreter it, long gil) throws SpyglassException {
        if (it.first) {
            firstGil = gil;
        }
        if (gil == 0 || gilSpans.ranges() == 0) {
            return;
        }
        MemorySegment gb = it.first ? ahead.gil(gil) : null;
        if (gb == null) {
            gilSpans.queue(memory, gil, gilBuf);
            if (memory.flush() != gilSpans.ranges()) {
                return;
            }
            gb = gilBuf;
        }
        it.gilKnown = true;
        it.gilLocked = gilSpans.getInt(gb, Field.GIL_LOCKED) != 0;
        it.gilHolder = gilSpans.getLong(gb, Field.GIL_LAST_HOLDER);
    }

    private boolean seen(long interp, int n) {
        for (int i = 0; i < n; i++) {
            if (seen[i] == interp) {
                return true;
            }
        }
        return false;
    }
}
