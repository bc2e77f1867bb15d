package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.MalformedObjectException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The await chain of a coroutine on CPython 3.8 – 3.10, whose coroutines point to a heap frame
 * ({@code cr_frame}, a {@code PyFrameObject}; NULL once finished). A coroutine suspended in an
 * {@code await} has the awaited object on top of its frame's value stack, where {@code _PyGen_yf} peeks:
 * 3.8, 3.9 {@code f_stacktop[-1]} ({@code f_stacktop} is NULL while the frame runs); 3.10
 * {@code f_valuestack[f_stackdepth - 1]} when {@code f_state} is {@code FRAME_SUSPENDED} (-1). Only a
 * target of the coroutine's own type is followed (an awaited Future ends the chain). The offsets not in
 * the layouts are those of the C structs (gdb on pyenv's 3.8.18, 3.9.18, 3.10.13): {@code gi_frame} 16
 * (right after the object header), {@code f_valuestack} 64, {@code f_stacktop} 72 (3.8, 3.9),
 * {@code f_stackdepth} 80 and {@code f_state} 108 (3.10). Not thread-safe.
 */
final class FrameObjectChains implements AwaitChains {
    private static final long GEN_FRAME = 16;
    private static final long F_VALUESTACK = 64;
    private static final long F_STACKTOP = 72;
    private static final long F_STACKDEPTH = 80;
    private static final long F_STATE = 108;
    private static final int FRAME_SUSPENDED = -1;
    private static final int MAX_STACKDEPTH = 1 << 16;

    private final RemoteMemory memory;
    private final boolean is310;
    private final long typeAt;
    private final long codeAt;
    private final long lastiAt;
    private final MemorySegment frameBuf;
    private final MemorySegment genBuf;
    private final AwaitChainFrames frames;

    FrameObjectChains(RemoteMemory memory, StackReader reader) {
        this.memory = memory;
        this.frames = new AwaitChainFrames(reader);
        Layout layout = reader.interpreter().layout();
        this.is310 = layout.version().is(3, 10);
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.codeAt = layout.require(Field.FRAME_CODE);
        this.lastiAt = layout.require(Field.FRAME_LASTI);
        long end = Math.max(Math.max(codeAt, lastiAt) + 8, Math.max(F_STACKTOP, F_STACKDEPTH) + 8);
        Arena arena = Arena.ofAuto();
        this.frameBuf = arena.allocate(Math.max(end, F_STATE + 1), 8);
        this.genBuf = arena.allocate(GEN_FRAME + 8, 8);
    }

    static boolean supports(Layout layout) {
        var v = layout.version();
        return (v.is(3, 8) || v.is(3, 9) || v.is(3, 10)) && layout.has(Field.FRAME_CODE)
                && layout.has(Field.FRAME_LASTI);
    }

    @Override
    public String tornReason() {
        return frames.tornReason();
    }

    @Override
    public List<Frame> read(long coro) throws MemoryFault, MalformedObjectException, SpyglassException {
        frames.start();
        long coroType = 0;
        for (long c = coro; c != 0;) {
            if (!frames.enter(c)) {
                return null;
            }
            memory.read(RemoteObjects.checkedPointer(c), genBuf);
            long type = genBuf.get(ValueLayout.JAVA_LONG, typeAt);
            if (coroType == 0) {
                coroType = type;
            }
            long frame = genBuf.get(ValueLayout.JAVA_LONG, GEN_FRAME);
            if (frame == 0) {
                break; // finished: its frame is gone
            }
            memory.read(RemoteObjects.checkedPointer(frame), frameBuf);
            int lasti = frameBuf.get(ValueLayout.JAVA_INT, lastiAt);
            frames.add(frameBuf.get(ValueLayout.JAVA_LONG, codeAt), lasti);
            c = lasti < 0 ? 0 : awaited(coroType);
        }
        return frames.frames(true);
    }

    /** The coroutine on top of the suspended frame in {@link #frameBuf}'s value stack, or 0. */
    private long awaited(long coroType) throws MemoryFault, SpyglassException {
        long slot;
        if (is310) {
            long depth = frameBuf.get(ValueLayout.JAVA_INT, F_STACKDEPTH);
            long valuestack = frameBuf.get(ValueLayout.JAVA_LONG, F_VALUESTACK);
            if (frameBuf.get(ValueLayout.JAVA_BYTE, F_STATE) != FRAME_SUSPENDED || depth < 1 || depth > MAX_STACKDEPTH
                    || valuestack == 0) {
                return 0;
            }
            slot = valuestack + 8 * (depth - 1);
        } else {
            long top = frameBuf.get(ValueLayout.JAVA_LONG, F_STACKTOP);
            if (top == 0 || (top & 7) != 0) {
                return 0; // running (NULL) or not a stack pointer
            }
            slot = top - 8;
        }
        long p = memory.readLong(slot);
        return AwaitChainFrames.isCoroutine(memory, p, typeAt, coroType) ? p : 0;
    }
}
