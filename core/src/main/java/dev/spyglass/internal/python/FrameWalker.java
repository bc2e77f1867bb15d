package dev.spyglass.internal.python;

import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * Walks one thread's Python frames from the frame its thread state points at to the outermost, into
 * {@link WalkedFrames}. One implementation per CPython era, chosen once per layout by {@link #forLayout}
 * (as py-spy picks its per-version reader once): the walk itself never tests the version.
 *
 * <p>A walker detects torn reads instead of guessing: bounded depth, a cycle check, aligned pointers,
 * every pointer read through the kernel. It then tears the record ({@link ThreadRecord#tear}) and
 * returns -1.
 */
interface FrameWalker {
    /** Deeper stacks are taken for a cycle or garbage (CPython's default recursion limit is 1000). */
    int MAX_DEPTH = 8192;

    /**
     * Walks {@code r}'s stack (its thread state already read) into {@code out}.
     *
     * @return the number of frames, or -1 after tearing {@code r}
     */
    int walk(ThreadRecord r, WalkedFrames out) throws MemoryFault, SpyglassException;

    /** A look begins: the walks that follow read the target at about one instant ({@link FrameOwners}, ≤3.10). */
    default void newLook() {
    }

    /** {@code r}'s stack was taken over from the previous look, unwalked: its frames are still its own. */
    default void tookOver(ThreadRecord r) {
    }

    /**
     * After a whole {@link #walk}: whether the frames it read one by one outside the thread's data-stack chunks
     * (3.12+ entry frames on the C stack, generators' frames) still hold the links the walk followed, read again
     * now. Such a frame of a C call that returned meanwhile is stale memory the checks may not tell from a live
     * one. ≤3.10 every frame is a heap object read on its own: true (no such re-check, as for a first read).
     */
    default boolean unchangedSinceWalk() throws SpyglassException {
        return true;
    }

    /**
     * 3.13+: a frame's {@code f_executable} may be None or an object other than a code object (such a
     * frame is skipped, not torn); before, a frame always has a code object.
     */
    static boolean executableMayBeNonCode(Layout layout) {
        return layout.version().isAtLeast(3, 13);
    }

    /** ≤3.10: linked frame objects; 3.11+: frames in data-stack chunks. */
    static FrameWalker forLayout(Layout layout, RemoteMemory memory, ReaderSpans spans, ReadAhead ahead,
            java.lang.foreign.Arena arena) {
        return layout.version().isAtLeast(3, 11)
                ? new ChunkFrameWalker(layout, memory, spans, ahead, arena)
                : new LinkedFrameWalker(layout, memory, spans, ahead, arena);
    }
}
