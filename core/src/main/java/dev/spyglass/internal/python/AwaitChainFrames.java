package dev.spyglass.internal.python;

import java.util.Arrays;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * What the await-chain readers of every era share ({@link FrameObjectChains} 3.8 – 3.10, {@link CoroutineChains}
 * 3.11 – 3.13, {@link AsyncTaskReader} 3.14+): the guard against a cycle or a chain deeper than
 * {@link AsyncTaskReader#MAX_AWAIT_DEPTH}, the chain's code objects and positions collected outermost first, their
 * frames resolved (innermost first) by the stack reader's code cache, and the test that an awaited object is a
 * coroutine of the chain's own type. Not thread-safe.
 */
final class AwaitChainFrames {
    private final StackReader reader;
    private final VisitedSet visited = new VisitedSet();
    private final WalkedFrames walked = new WalkedFrames();
    private final ThreadRecord scratch = new ThreadRecord();
    private long[] codes = new long[16];
    private long[] positions = new long[16];
    private int depth;
    private String tornReason;

    AwaitChainFrames(StackReader reader) {
        this.reader = reader;
    }

    /** Begins a chain. */
    void start() {
        visited.clear();
        depth = 0;
        tornReason = null;
    }

    /** Whether coroutine {@code c} may be followed: false (torn) when it came before or the chain is too deep. */
    boolean enter(long c) {
        if (depth == AsyncTaskReader.MAX_AWAIT_DEPTH || !visited.add(c)) {
            tornReason = "await chain loops or is deeper than " + AsyncTaskReader.MAX_AWAIT_DEPTH;
            return false;
        }
        return true;
    }

    /** Adds the next coroutine's code object and position (instruction pointer, or {@code f_lasti}). */
    void add(long code, long position) {
        if (depth == codes.length) {
            codes = Arrays.copyOf(codes, depth * 2);
            positions = Arrays.copyOf(positions, depth * 2);
        }
        codes[depth] = code;
        positions[depth++] = position;
    }

    /**
     * The chain's frames, innermost first; null when one could not be resolved ({@link #tornReason()}).
     *
     * @param lasti the positions are {@code f_lasti} values (3.8 – 3.10), not instruction pointers
     */
    List<Frame> frames(boolean lasti) throws MemoryFault, SpyglassException {
        walked.clear();
        for (int i = depth - 1; i >= 0; i--) {
            walked.add(codes[i], positions[i], 0, lasti);
        }
        scratch.reset();
        reader.resolve(scratch, walked);
        if (scratch.torn) {
            tornReason = scratch.tornReason;
            return null;
        }
        return List.of(Arrays.copyOf(scratch.frames, scratch.depth));
    }

    /** Why the chain was torn. */
    String tornReason() {
        return tornReason;
    }

    /** Whether {@code p} looks like a user-space object pointer whose type is {@code coroType}. */
    static boolean isCoroutine(RemoteMemory memory, long p, long typeAt, long coroType)
            throws MemoryFault, SpyglassException {
        return p != 0 && (p & 7) == 0 && p >= 0x1000 && p <= 0x7fff_ffff_ffffL
                && memory.readLong(p + typeAt) == coroType;
    }
}
