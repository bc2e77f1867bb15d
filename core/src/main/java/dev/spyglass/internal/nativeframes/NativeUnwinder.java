package dev.spyglass.internal.nativeframes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;

import dev.spyglass.elf.UnwindTable;

/**
 * Unwinds an x86-64 thread's native stack from its registers and a copy of its stack, after the
 * thread has resumed: every read is from the copy, none from the target. Each step looks the program
 * counter up in its object's {@link UnwindTable}; the caller's {@code rsp} is the CFA, its {@code rip}
 * and {@code rbp} are read where the table says.
 *
 * <p>The walk ends {@link Outcome#COMPLETE} at the outermost frame (an undefined return address, as
 * {@code _start} and {@code clone3} declare it, or a zero one), or {@link Outcome#TRUNCATED} when it
 * cannot go on without guessing: code in anonymous memory (JIT), code of a file without call-frame
 * information whose {@code rbp} does not look like a frame pointer (one that does is followed: saved
 * {@code rbp} at {@code [rbp]}, return address at {@code [rbp + 8]}), an unsupported rule, a read
 * beyond the copied stack, a stack pointer that does not grow.
 */
public final class NativeUnwinder {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The start of the reason of a walk that needed bytes beyond the copied stack. */
    public static final String BEYOND_COPY = "stack deeper than the copy";

    /**
     * The start of the reason of a walk that reached an object whose call-frame table is still being built
     * in the background after the longest wait ({@link NativeObjects#buildInBackground}): the sample has no
     * native frames.
     */
    public static final String TABLE_PENDING = "call-frame table still being built";

    /** How a walk ended. */
    public enum Outcome { COMPLETE, TRUNCATED }

    /** The walk's program counters, innermost first, and how it ended. */
    public record Result(long[] pcs, int depth, Outcome outcome, String reason) {
    }

    private final NativeObjects objects;
    private final int maxFrames;
    private final long[] pcs;
    private long framePointerSteps;

    public NativeUnwinder(NativeObjects objects, int maxFrames) {
        this.objects = objects;
        this.maxFrames = maxFrames;
        this.pcs = new long[maxFrames];
    }

    /** Steps taken by the frame pointer, where a file's code had no call-frame information (all walks). */
    public long framePointerSteps() {
        return framePointerSteps;
    }

    /**
     * Walks from {@code rip, rsp, rbp}; {@code stack} holds the target's bytes from address
     * {@code stackStart} on (a copy taken at the stop, starting at or below {@code rsp}).
     */
    public Result unwind(long rip, long rsp, long rbp, MemorySegment stack, long stackStart) {
        // Reused: a result is read before the next walk (one sampling thread).
        long[] pcs = this.pcs;
        int n = 0;
        long pc = rip;
        long sp = rsp;
        long bp = rbp;
        // The innermost frame and a frame interrupted by a signal are at the instruction itself; every
        // other frame is at a return address, one past its call: look up pc - 1 so a call at a
        // function's end is not taken for the next function.
        boolean atInstruction = true;
        while (n < maxFrames) {
            pcs[n++] = pc;
            Optional<NativeObjects.MappedObject> o = objects.find(pc);
            UnwindTable t = o.map(NativeObjects.MappedObject::table).orElse(null);
            int row = t == null ? -1 : t.find((atInstruction ? pc : pc - 1) - o.get().bias());
            if (row < 0 || t.cfa(row) == UnwindTable.Cfa.NO_INFO) {
                // Code in a file but without call-frame information (built with -fno-asynchronous-unwind-tables,
                // hand-written assembly): one step by the frame pointer where rbp looks like one. Code in no
                // file (JIT, trampolines) ends the walk: nothing says how its frames are laid out.
                Optional<NativeObjects.MappedObject> any = objects.objectAt(pc);
                if (any.isEmpty()) {
                    return new Result(pcs, n, Outcome.TRUNCATED, "code in anonymous memory at 0x" + Long.toHexString(pc));
                }
                if (any.get().pending()) {
                    return new Result(pcs, n, Outcome.TRUNCATED, TABLE_PENDING + ": " + any.get().path());
                }
                long ra = Long.compareUnsigned(bp, sp) >= 0 && (bp & 7) == 0 ? read(stack, stackStart, bp + 8) : NOT_COPIED;
                long savedBp = ra == NOT_COPIED ? NOT_COPIED : read(stack, stackStart, bp);
                if (ra == NOT_COPIED || savedBp == NOT_COPIED || ra == 0) {
                    return new Result(pcs, n, Outcome.TRUNCATED, "no call-frame information at 0x" + Long.toHexString(pc)
                            + " and no frame pointer");
                }
                framePointerSteps++;
                sp = bp + 16;
                bp = savedBp;
                pc = ra;
                atInstruction = false;
                continue;
            }
            long cfa;
            switch (t.cfa(row)) {
                case RSP_OFFSET -> cfa = sp + t.cfaOffset(row);
                case RBP_OFFSET -> cfa = bp + t.cfaOffset(row);
                case PLT -> cfa = sp + t.cfaOffset(row) + ((pc & 15) >= t.pltThreshold(row) ? 8 : 0);
                case DEREF_RSP_OFFSET -> {
                    long v = read(stack, stackStart, sp + t.cfaOffset(row));
                    if (v == NOT_COPIED) {
                        return new Result(pcs, n, Outcome.TRUNCATED, BEYOND_COPY + " (signal frame)");
                    }
                    cfa = v;
                }
                default -> {
                    return new Result(pcs, n, Outcome.TRUNCATED, t.cfa(row) + " rule at 0x" + Long.toHexString(pc));
                }
            }
            long ra;
            switch (t.returnAddress(row)) {
                case AT_CFA_OFFSET -> ra = read(stack, stackStart, cfa + t.returnAddressOffset(row));
                case AT_RSP_OFFSET -> ra = read(stack, stackStart, sp + t.returnAddressOffset(row));
                case UNDEFINED -> {
                    return new Result(pcs, n, Outcome.COMPLETE, "outermost frame");
                }
                default -> {
                    return new Result(pcs, n, Outcome.TRUNCATED, "return address rule at 0x" + Long.toHexString(pc));
                }
            }
            if (ra == NOT_COPIED) {
                return new Result(pcs, n, Outcome.TRUNCATED, BEYOND_COPY);
            }
            switch (t.rbp(row)) {
                case AT_CFA_OFFSET -> bp = read(stack, stackStart, cfa + t.rbpOffset(row));
                case AT_RSP_OFFSET -> bp = read(stack, stackStart, sp + t.rbpOffset(row));
                default -> { } // unchanged (or unknown: only matters if a caller's CFA uses rbp)
            }
            atInstruction = t.returnAddress(row) == UnwindTable.Saved.AT_RSP_OFFSET;
            if (ra == 0) {
                return new Result(pcs, n, Outcome.COMPLETE, "return address 0");
            }
            if (Long.compareUnsigned(cfa, sp) <= 0 && !atInstruction) {
                return new Result(pcs, n, Outcome.TRUNCATED, "stack pointer does not grow at 0x" + Long.toHexString(pc));
            }
            sp = cfa;
            pc = ra;
        }
        return new Result(pcs, n, Outcome.TRUNCATED, "more than " + maxFrames + " frames");
    }

    private static final long NOT_COPIED = 0x8000_0000_0000_0001L;

    private static long read(MemorySegment stack, long stackStart, long address) {
        long off = address - stackStart;
        if (off < 0 || off > stack.byteSize() - 8) {
            return NOT_COPIED;
        }
        return stack.get(U64, off);
    }
}
