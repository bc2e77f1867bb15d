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
 * CPython 2.7 – 3.10: frames are heap {@code PyFrameObject}s linked by {@code f_back}, starting at
 * {@code tstate->frame}; one read each, unless the read-ahead copied the previous look's frames
 * (they are usually the same objects) in the look's first call. Every frame is its own C-level call of
 * the evaluation loop ({@code PyEval_EvalFrameEx} / {@code _PyEval_EvalFrameDefault}), so every frame
 * is an entry frame. {@code f_lasti} is returned as it is; the resolver turns it into a byte offset
 * (3.10 counts code units). Frame objects are reused across threads, so a walk may cross into another
 * thread's frames: one look's walks may not share a frame ({@link FrameOwners}).
 */
final class LinkedFrameWalker implements FrameWalker {
    private final RemoteMemory memory;
    private final StructSpans frameSpans;
    private final ReadAheadFrames ahead;
    private final MemorySegment frameBuf;
    private final long backOff;
    private final long codeOff;
    private final long lastiOff;
    /** {@code ob_refcnt}, or -1 when the layout lacks it. */
    private final long refcntOff;
    private final VisitedSet visited = new VisitedSet();
    /** This look's outermost frames, and the previous look's. */
    private FrameOwners owners = new FrameOwners();
    private FrameOwners previous = new FrameOwners();

    LinkedFrameWalker(Layout layout, RemoteMemory memory, ReaderSpans spans, ReadAhead ahead, Arena arena) {
        this.memory = memory;
        this.frameSpans = spans.frame();
        this.ahead = ahead.frames();
        this.frameBuf = arena.allocate(frameSpans.bufferSize(), 8);
        this.backOff = layout.offset(Field.FRAME_BACK);
        this.codeOff = layout.offset(Field.FRAME_CODE);
        this.lastiOff = layout.offset(Field.FRAME_LASTI);
        this.refcntOff = layout.has(Field.OBJECT_REFCNT) ? layout.offset(Field.OBJECT_REFCNT) : -1;
    }

    @Override
    public void newLook() {
        FrameOwners last = owners;
        owners = previous;
        previous = last;
        owners.clear();
    }

    @Override
    public int walk(ThreadRecord r, WalkedFrames out) throws MemoryFault, SpyglassException {
        long f = r.topFrame;
        int n = 0;
        int slot = r.specSlot;
        long outermost = 0;
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
            long at = ahead.findNth(slot, n, f);
            if (at >= 0 && refcntOff >= 0 && ahead.merged().get(ValueLayout.JAVA_LONG_UNALIGNED, at + refcntOff) <= 0) {
                // The look's first call copied this frame while it was free, and its thread may have taken it back
                // since (a code object's zombie frame goes to that code's next call): read it afresh. Tearing on
                // the copy tore 0.43% of first reads of four threads calling one function (3.9), most retried.
                at = -1;
            }
            long code;
            long lasti;
            long back;
            long refcnt = 1; // a copy's count was checked above
            if (at >= 0) {
                // A copy of the frame object itself: fields at their struct offsets.
                MemorySegment fb = ahead.merged();
                code = fb.get(ValueLayout.JAVA_LONG_UNALIGNED, at + codeOff);
                lasti = fb.get(ValueLayout.JAVA_INT_UNALIGNED, at + lastiOff);
                back = fb.get(ValueLayout.JAVA_LONG_UNALIGNED, at + backOff);
            } else {
                frameSpans.queue(memory, f, frameBuf);
                if (memory.flush() != frameSpans.ranges()) {
                    r.tear("frame 0x" + Long.toHexString(f) + " unreadable");
                    return -1;
                }
                code = frameSpans.getLong(frameBuf, Field.FRAME_CODE);
                lasti = frameSpans.getInt(frameBuf, Field.FRAME_LASTI);
                back = frameSpans.getLong(frameBuf, Field.FRAME_BACK);
                if (refcntOff >= 0) {
                    refcnt = frameSpans.getLong(frameBuf, Field.OBJECT_REFCNT);
                }
            }
            if (code == 0 || (code & 7) != 0) {
                r.tear("frame 0x" + Long.toHexString(f) + " without code object");
                return -1;
            }
            if (refcnt <= 0) {
                // Freed since the thread state or the frame after it pointed here: a frame on its code object's
                // zombie slot or on the free list keeps a count of 0 (until handed out again), and its f_back is
                // stale or the free list's next link, so the walk would end early or elsewhere: 5 of 76,446 stacks
                // on 3.9 under load lacked their outer frames before this check.
                r.tear("frame 0x" + Long.toHexString(f) + " freed while read (ob_refcnt " + refcnt + ")");
                return -1;
            }
            ahead.noteNth(slot, n, f);
            out.add(code, lasti, 0, true);
            outermost = f;
            f = back;
            n++;
        }
        if (n > 0 && !claim(r, outermost)) {
            return -1;
        }
        r.outermost = outermost;
        return n;
    }

    @Override
    public void tookOver(ThreadRecord r) {
        if (r.outermost != 0) {
            claim(r, r.outermost);
        }
    }

    /**
     * Takes the outermost frame of {@code r}'s walk for {@code r} ({@link FrameOwners}).
     *
     * <p>A walk that ends at a frame which was another thread's outermost at the previous look crossed: a thread's
     * outermost frame is its bootstrap's or its {@code <module>}'s and lasts as long as the thread's Python code runs.
     * Only that walk is torn (the other thread's may be right). This catches two threads that swapped frames while
     * read, each walk ending at the other's outermost frame, which no claim within the look sees: 5 of 57,520 stacks
     * on 2.7 in CI, 6 Dec 2026. It holds for a retry too: exempting retries let 2 of 35,000 crossed stacks through
     * on 2.7 with four threads (a thread torn once is racing, and its retry crossed). The honest case, another
     * thread's outermost frame freed and handed to a new outermost call of this thread (a C thread's callbacks),
     * costs one torn sample: the next look's table no longer names the other thread.
     *
     * <p>When another walk of this look ended at the frame, one of the two crossed into the other's frames, and which
     * one is not known: both are torn, and {@code r}, torn at its first walk, is read again at once (its fresh read
     * then keeps its frames). A stack taken over is the thread's own (walked whole before, not run since), so it is
     * never torn here and a walk that meets it crossed. A walk that crossed ends at the other thread's outermost
     * frame, so that one frame per walk tells: two lookups per walk, not one per frame, and a generator's frame
     * handed between two threads within a look (a frame both walks may hold honestly) tears nothing.
     */
    private boolean claim(ThreadRecord r, long outermost) {
        if (!r.tookOver) {
            long before = previous.ownerThreadState(outermost);
            if (before != 0 && before != r.tstate) {
                r.tear("its outermost frame 0x" + Long.toHexString(outermost) + " was another thread's at the"
                        + " previous look (a frame object reused while read)");
                return false;
            }
        }
        ThreadRecord other = owners.owner(outermost);
        if (other != null && other != r) {
            // Tearing only the second walk let the first one's crossed stack through when the second's retry failed
            // its own checks (a busy thread): 2 of about 17,000 stacks on 2.7 and 3.7 at load 12.
            String why = "its outermost frame 0x" + Long.toHexString(outermost) + " is another thread's too (a frame"
                    + " object reused while read)";
            if (!other.torn && !other.tookOver) {
                other.tear(why);
                other.depth = 0;
            }
            if (!r.tookOver && (other.tookOver || !r.retried)) {
                r.tear(why);
                return false;
            }
        }
        owners.put(outermost, r);
        return true;
    }
}
