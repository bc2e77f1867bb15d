package dev.spyglass.internal.python;

import java.util.Arrays;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/**
 * One thread as the stack reader saw it in the latest look. Reused from look to look (the reader
 * keeps an array of them), so values are valid until the next read.
 */
public final class ThreadRecord {
    long tstate;
    long pythonThreadId;
    long nativeThreadId = -1;
    /** The kernel's start time of {@link #nativeThreadId} (clock ticks after boot), -1 when unknown. */
    long startTime = -1;
    long interpreterId;
    /** 0 unknown, 1 not held, 2 held. */
    int gil;
    boolean torn;
    /** The thread holds the GIL while its interpreter's garbage collector runs: it is collecting. */
    boolean collectingGarbage;
    boolean skipped;
    ThreadState state = ThreadState.UNKNOWN;
    /** Frame pointer (≤3.10 PyFrameObject*, 3.11+ _PyInterpreterFrame*) read from the thread state. */
    long topFrame;
    long datastackChunk;
    long datastackTop;
    long chunkSize;
    boolean firstInterpreter;
    int specSlot = -1;
    Frame[] frames = new Frame[64];
    /** Per frame: a C-level call of the evaluation loop starts here (see {@link WalkedFrames}). */
    boolean[] entries = new boolean[64];
    int depth;
    String tornReason;
    /** This look's first walk of the thread was torn and the thread was read once more ({@link StackReader}). */
    boolean retried;

    private List<Frame> lastList = List.of();
    /** The value {@link Target#threadStack} made last from this record, reused while nothing changed. */
    ThreadStack lastStack;

    /**
     * The previous look's thread, kept by {@link #reset} for {@link StackReader}: a thread the kernel shows was
     * not put on a CPU since that look, with the same thread-state words, keeps its frames instead of a walk.
     */
    boolean prevWalked;
    long prevTstate;
    long prevPythonThreadId;
    long prevNativeThreadId;
    long prevTopFrame;
    long prevDatastackChunk;
    long prevDatastackTop;
    long prevChunkSize;
    int prevDepth;
    /** Set by the reader when this look's frames were walked whole (not torn, nothing added after the walk). */
    boolean walked;
    /**
     * Set by the reader when this look's frames may have been read before the kernel reading that proves the
     * thread has not run since ({@link StackReader}): the next look walks them again rather than take them over.
     */
    boolean readBeforeReading;
    /** This look's frames are the previous look's, taken over ({@link #reusePreviousFrames}). */
    boolean tookOver;
    /** ≤3.10: the address of the outermost frame object walked (kept when taken over), 0 when none; and the previous look's. */
    long outermost;
    long prevOutermost;
    /** When these frames were walked (taken over: when the look that walked them began), and the previous look's. */
    long walkedNanos;
    long prevWalkedNanos;

    /** Whether this look's thread is the previous look's with the same thread-state words (its frames still in place). */
    boolean sameHeadAsBefore() {
        return prevWalked && prevTstate == tstate && prevPythonThreadId == pythonThreadId
                && prevNativeThreadId == nativeThreadId && nativeThreadId > 0 && prevTopFrame == topFrame
                && prevDatastackChunk == datastackChunk && prevDatastackTop == datastackTop;
    }

    /** Takes the previous look's frames back (see {@link #sameHeadAsBefore}). */
    void reusePreviousFrames() {
        depth = prevDepth;
        chunkSize = prevChunkSize;
        outermost = prevOutermost;
        walked = true;
    }

    void reset() {
        prevWalked = walked && !torn && !readBeforeReading;
        readBeforeReading = false;
        tookOver = false;
        prevWalkedNanos = walkedNanos;
        walkedNanos = 0;
        prevTstate = tstate;
        prevPythonThreadId = pythonThreadId;
        prevNativeThreadId = nativeThreadId;
        prevTopFrame = topFrame;
        prevDatastackChunk = datastackChunk;
        prevDatastackTop = datastackTop;
        prevChunkSize = chunkSize;
        prevDepth = depth;
        prevOutermost = outermost;
        outermost = 0;
        walked = false;
        tstate = 0;
        pythonThreadId = 0;
        nativeThreadId = -1;
        startTime = -1;
        interpreterId = 0;
        gil = 0;
        torn = false;
        skipped = false;
        collectingGarbage = false;
        state = ThreadState.UNKNOWN;
        topFrame = 0;
        datastackChunk = 0;
        datastackTop = 0;
        chunkSize = 0;
        firstInterpreter = false;
        specSlot = -1;
        depth = 0;
        tornReason = null;
        retried = false;
    }

    void push(Frame f, boolean entry) {
        if (depth == frames.length) {
            frames = Arrays.copyOf(frames, depth * 2);
            entries = Arrays.copyOf(entries, depth * 2);
        }
        entries[depth] = entry;
        frames[depth++] = f;
    }

    /** The innermost frame pushed so far starts a C-level call of the evaluation loop. */
    void markLastAsEntry() {
        if (depth > 0) {
            entries[depth - 1] = true;
        }
    }

    void tear(String reason) {
        torn = true;
        tornReason = reason;
    }

    /** Forgets a torn walk before the thread is read again: no frame of it is kept. */
    void untear() {
        torn = false;
        tornReason = null;
        depth = 0;
    }

    /** The thread state's address in the target. */
    public long threadStateAddress() {
        return tstate;
    }

    public long pythonThreadId() {
        return pythonThreadId;
    }

    /** The kernel TID, or -1 when unknown. */
    public long nativeThreadId() {
        return nativeThreadId;
    }

    /**
     * When the kernel started the thread, in clock ticks after boot (field 22 of
     * {@code /proc/PID/task/TID/stat}), -1 when unknown. With {@link #nativeThreadId()} it identifies the
     * thread: TIDs and Python idents are reused, a (TID, start time) pair is not.
     */
    public long startTime() {
        return startTime;
    }

    public long interpreterId() {
        return interpreterId;
    }

    /** {@code TRUE}/{@code FALSE} whether the thread held the GIL, {@code null} when unknown. */
    public Boolean gilHeld() {
        return gil == 0 ? null : gil == 2 ? Boolean.TRUE : Boolean.FALSE;
    }

    /** The stack could not be read consistently: drop it. */
    /**
     * Whether this thread runs its interpreter's cyclic garbage collector: the collector is running and
     * the thread holds the GIL (the collector runs in the thread whose allocation triggered it, or that
     * called {@code gc.collect()}). Known on 3.9+; false elsewhere.
     */
    public boolean collectingGarbage() {
        return collectingGarbage;
    }

    public boolean torn() {
        return torn;
    }

    /**
     * Whether this look's first walk of the thread failed its checks and the thread was read once more
     * (thread state and frames, none from the look's read-ahead); {@link #torn()} then tells the second read's
     * outcome. Threads whose thread state could not be read are not read again.
     */
    public boolean retried() {
        return retried;
    }

    /** Why the stack was torn (for logs and tests), or null. */
    public String tornReason() {
        return tornReason;
    }

    /** The thread was not walked (CPU mode and it was not running). */
    public boolean skipped() {
        return skipped;
    }

    public ThreadState state() {
        return state;
    }

    public int depth() {
        return depth;
    }

    /**
     * Whether a C-level call of the evaluation loop starts at frame {@code i} (0 innermost): the Python
     * frames from here inwards, up to the next such frame, run in one native
     * {@code _PyEval_EvalFrameDefault} (≤3.10: every frame; 3.11: {@code is_entry}; 3.12+: the frame
     * above a shim frame owned by the C stack). Where native frames are merged in, each eval-loop
     * native frame is replaced by one such group.
     */
    public boolean entryFrame(int i) {
        java.util.Objects.checkIndex(i, depth);
        return entries[i];
    }

    /**
     * The frames as an immutable list, innermost first. When they are the same (interned) frames as in
     * the previous look at this record, the previous list is returned: a thread that stays in one
     * place costs no allocation.
     */
    public List<Frame> frameList() {
        List<Frame> last = lastList;
        if (last.size() == depth) {
            boolean same = true;
            for (int i = 0; i < depth; i++) {
                if (last.get(i) != frames[i]) {
                    same = false;
                    break;
                }
            }
            if (same) {
                return last;
            }
        }
        List<Frame> list = List.of(Arrays.copyOf(frames, depth));
        lastList = list;
        return list;
    }
}
