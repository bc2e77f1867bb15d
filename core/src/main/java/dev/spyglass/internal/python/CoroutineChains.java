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
 * The await chain of a coroutine on CPython 3.11 – 3.13: the coroutine's frame is inline in the object
 * ({@code gi_iframe}, a {@code _PyInterpreterFrame}); a suspended coroutine ({@code gi_frame_state} -1:
 * {@code FRAME_SUSPENDED} in 3.11 and 3.12, {@code FRAME_SUSPENDED_YIELD_FROM} in 3.13) waits in an
 * {@code await}, whose target is on top of its value stack ({@code localsplus[stacktop - 1]}, where
 * {@code _PyGen_yf} peeks). Only a target of the coroutine's own type is followed (an awaited Future ends
 * the chain). At most {@link AsyncTaskReader#MAX_AWAIT_DEPTH} coroutines, with a cycle check. Not
 * thread-safe.
 */
final class CoroutineChains implements AwaitChains {
    /** {@code FRAME_COMPLETED} = 1, {@code FRAME_CLEARED} = 4 in 3.11 – 3.13: no frame to show. */
    private static final int FRAME_COMPLETED = 1;
    /** The state of a coroutine suspended in an await in 3.11 – 3.13 (see the class comment). */
    private static final int SUSPENDED_IN_AWAIT = -1;
    /** {@code stacktop} counts localsplus items: locals plus the value stack, far below this. */
    private static final int MAX_STACKTOP = 1 << 16;

    private final RemoteMemory memory;
    private final long typeAt;
    private final long genIframe;
    private final long genFrameState;
    private final long iframeExecutable;
    private final long iframeInstr;
    private final long iframeStacktop;
    private final long iframeLocalsplus;
    private final MemorySegment genBuf;
    private final AwaitChainFrames frames;

    CoroutineChains(RemoteMemory memory, StackReader reader) {
        this.memory = memory;
        this.frames = new AwaitChainFrames(reader);
        Layout layout = reader.interpreter().layout();
        this.typeAt = layout.require(Field.OBJECT_TYPE);
        this.genIframe = layout.require(Field.GEN_IFRAME);
        this.genFrameState = layout.require(Field.GEN_FRAME_STATE);
        this.iframeExecutable = layout.require(Field.IFRAME_EXECUTABLE);
        this.iframeInstr = layout.require(Field.IFRAME_INSTR_PTR);
        this.iframeStacktop = layout.require(Field.IFRAME_STACKTOP);
        this.iframeLocalsplus = layout.require(Field.IFRAME_LOCALSPLUS);
        long frameEnd = Math.max(Math.max(iframeExecutable, iframeInstr), iframeStacktop) + 8;
        this.genBuf = Arena.ofAuto().allocate(Math.max(genIframe + frameEnd, genFrameState + 1), 8);
    }

    static boolean supports(Layout layout) {
        return layout.has(Field.GEN_IFRAME) && layout.has(Field.GEN_FRAME_STATE) && layout.has(Field.IFRAME_STACKTOP)
                && layout.has(Field.IFRAME_LOCALSPLUS) && !layout.has(Field.IFRAME_STACKPOINTER);
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
            int state = genBuf.get(ValueLayout.JAVA_BYTE, genFrameState);
            if (state >= FRAME_COMPLETED) {
                break;
            }
            frames.add(genBuf.get(ValueLayout.JAVA_LONG, genIframe + iframeExecutable),
                    genBuf.get(ValueLayout.JAVA_LONG, genIframe + iframeInstr));
            c = state == SUSPENDED_IN_AWAIT
                    ? awaited(c, genBuf.get(ValueLayout.JAVA_INT, genIframe + iframeStacktop), coroType) : 0;
        }
        return frames.frames(false);
    }

    /** The coroutine on top of the value stack of the suspended coroutine {@code c}, or 0 when none. */
    private long awaited(long c, int stacktop, long coroType) throws MemoryFault, SpyglassException {
        if (stacktop < 1 || stacktop > MAX_STACKTOP) {
            return 0;
        }
        long p = memory.readLong(c + genIframe + iframeLocalsplus + 8L * (stacktop - 1));
        return AwaitChainFrames.isCoroutine(memory, p, typeAt, coroType) ? p : 0;
    }
}
