package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.LineTable;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.internal.os.LongMap;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Turns a walked stack's (code object, instruction) pairs into interned frames. The headers of the
 * distinct code objects of a stack are read in one call (or taken from the read-ahead); a code object
 * is decoded once (names, file, line table; see {@link CodeObjects}) and cached by address, and a
 * cached entry is used only while its header words still match what the target holds there. The
 * instruction must lie inside its code object, or the stack is torn. Not thread-safe.
 */
final class CodeResolver {
    private final RemoteMemory memory;
    private final Layout layout;
    private final PythonVersion version;
    private final boolean codeUnits;
    private final long codeAdaptive;
    private final StructSpans codeSpans;
    private final int codeStride;
    private final ReadAhead ahead;
    private final CodeObjects objects;
    private final Arena arena;
    private MemorySegment codeBuf;

    private long[] distinct = new long[64];
    private CodeEntry[] distinctEntry = new CodeEntry[64];
    private boolean[] distinctSkip = new boolean[64];
    private int[] distinctAhead = new int[64];

    CodeResolver(Layout layout, RemoteMemory memory, ReaderSpans spans, ReadAhead ahead, CodeObjects objects,
            Arena arena) {
        this.memory = memory;
        this.layout = layout;
        this.version = layout.version();
        this.codeUnits = version.isAtLeast(3, 11);
        this.codeAdaptive = layout.has(Field.CODE_CODE_ADAPTIVE) ? layout.offset(Field.CODE_CODE_ADAPTIVE) : -1;
        this.codeSpans = spans.code();
        this.codeStride = spans.codeStride();
        this.ahead = ahead;
        this.objects = objects;
        this.arena = arena;
        this.codeBuf = arena.allocate((long) codeStride * 64, 16);
    }

    /**
     * Resolves {@code walked} into {@code r}'s frames; on a torn read, tears {@code r} (and pushes nothing more).
     *
     * @param headersAhead whether every frame of {@code walked} was copied in the look's first call, before the
     *                     code headers read ahead in it: only then may those copies serve. A frame read after that
     *                     call may run a code object made since at the address of a freed one, whose old header the
     *                     copy still holds (seen: a sub-interpreter's {@code run_string} module at a {@code .pth}
     *                     line's address, on 3.8, 3.11 and 3.13: line 1 instead of 5, one look in ~60,000)
     */
    void resolve(ThreadRecord r, WalkedFrames walked, boolean headersAhead) throws SpyglassException {
        int d = collectDistinct(walked);
        if (!readHeaders(r, d, headersAhead)) {
            return;
        }
        // Locals, not fields, in the per-frame loop: the JIT then keeps them in registers.
        long[] code = walked.code;
        long[] instr = walked.instr;
        int[] tlbc = walked.tlbc;
        boolean[] entry = walked.entry;
        long[] dist = distinct;
        for (int i = 0, n = walked.count; i < n; i++) {
            long c = code[i];
            int j = 0;
            while (dist[j] != c) {
                j++;
            }
            if (distinctSkip[j]) {
                // 3.13+: not a code object (skipped); an entry mark moves to the frame inside it.
                if (entry[i]) {
                    r.markLastAsEntry();
                }
                continue;
            }
            CodeEntry e = distinctEntry[j];
            int offset;
            if (codeUnits) {
                long diff = instr[i] - (c + codeAdaptive);
                if (tlbc[i] != 0) {
                    long start = objects.tlbcStart(r, c, e, tlbc[i], instr[i]);
                    if (start == 0) {
                        return;
                    }
                    diff = instr[i] - start;
                }
                if ((diff & 1) != 0 || diff < -2 || (e.codeBytes >= 0 && diff >= e.codeBytes)) {
                    r.tear("instruction pointer outside its code object");
                    return;
                }
                offset = (int) diff;
            } else {
                offset = LineTable.byteOffsetOfLasti(version, (int) instr[i]);
            }
            r.push(e.frame(offset), entry[i]);
        }
    }

    /** Fills {@link #distinct} with the stack's distinct code objects; returns how many. */
    private int collectDistinct(WalkedFrames walked) {
        int d = 0;
        long[] code = walked.code;
        for (int i = 0, n = walked.count; i < n; i++) {
            long c = code[i];
            boolean seen = false;
            for (int j = 0; j < d; j++) {
                if (distinct[j] == c) {
                    seen = true;
                    break;
                }
            }
            if (!seen) {
                if (d == distinct.length) {
                    distinct = Arrays.copyOf(distinct, d * 2);
                    distinctEntry = Arrays.copyOf(distinctEntry, d * 2);
                    distinctSkip = Arrays.copyOf(distinctSkip, d * 2);
                    distinctAhead = Arrays.copyOf(distinctAhead, d * 2);
                }
                distinct[d++] = c;
            }
        }
        return d;
    }

    /**
     * Finds the entry of each distinct code object: headers read ahead in this look's first call need
     * no read (where {@code headersAhead}); the others are read in batches of at most {@link RemoteMemory#MAX_IOV} ranges.
     *
     * @return false after tearing {@code r}
     */
    private boolean readHeaders(ThreadRecord r, int d, boolean headersAhead) throws SpyglassException {
        if (codeBuf.byteSize() < (long) codeStride * Math.min(d, RemoteMemory.MAX_IOV)) {
            codeBuf = arena.allocate((long) codeStride * Math.min(Math.max(d, 64), RemoteMemory.MAX_IOV), 16);
        }
        int missing = 0;
        for (int j = 0; j < d; j++) {
            distinctAhead[j] = headersAhead ? ahead.code(distinct[j]) : -1;
            if (distinctAhead[j] < 0) {
                missing++;
            }
            ahead.noteCode(distinct[j]);
        }
        for (int j = 0; j < d; j++) {
            if (distinctAhead[j] >= 0 && !settle(r, j, ahead.codes(), (long) distinctAhead[j] * codeStride)) {
                return false;
            }
        }
        int ranges = codeSpans.ranges();
        int perBatch = Math.max(1, RemoteMemory.MAX_IOV / Math.max(1, ranges));
        for (int start = 0; missing > 0 && start < d;) {
            int taken = 0;
            int end = start;
            while (end < d && taken < perBatch) {
                if (distinctAhead[end] < 0) {
                    codeSpans.queue(memory, distinct[end], codeBuf, (long) taken * codeStride);
                    taken++;
                }
                end++;
            }
            if (memory.flush() != taken * ranges) {
                r.tear("code object unreadable");
                return false;
            }
            int inBatch = 0;
            for (int j = start; j < end; j++) {
                if (distinctAhead[j] < 0 && !settle(r, j, codeBuf, (long) inBatch++ * codeStride)) {
                    return false;
                }
            }
            start = end;
        }
        return true;
    }

    /** Looks up distinct code object {@code j} from its header at {@code at}; false after tearing {@code r}. */
    private boolean settle(ThreadRecord r, int j, MemorySegment buf, long at) throws SpyglassException {
        CodeEntry e = objects.entryFor(r, distinct[j], buf, at, codeStride);
        if (r.torn) {
            return false;
        }
        distinctSkip[j] = e == null;
        distinctEntry[j] = e;
        return true;
    }
}
