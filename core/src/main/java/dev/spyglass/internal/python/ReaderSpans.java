package dev.spyglass.internal.python;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;

/**
 * The struct ranges the stack readers fetch, built once per {@link Layout}: the interpreter, its GIL
 * (3.12+: {@code interp->ceval.gil}), thread states, frames (≤3.10 {@code PyFrameObject}, 3.11+
 * {@code _PyInterpreterFrame}) and code-object headers.
 */
final class ReaderSpans {
    /** Code-object header words compared on every use of a cached entry, in this order (see {@link CodeEntry}). */
    static final Field[] CODE_KEY = {Field.OBJECT_TYPE, Field.CODE_NAME, Field.CODE_QUALNAME, Field.CODE_FILENAME,
        Field.CODE_LINETABLE, Field.CODE_FIRSTLINENO, Field.CODE_FLAGS, Field.CODE_ARGCOUNT, Field.VAROBJECT_SIZE};

    private final StructSpans interp;
    private final StructSpans tstate;
    private final StructSpans frame;
    private final StructSpans code;
    private final StructSpans gil;
    private final int codeStride;

    ReaderSpans(Layout layout, boolean chunkFrames) {
        interp = StructSpans.of(layout, Field.INTERP_NEXT, Field.INTERP_TSTATE_HEAD, Field.INTERP_ID,
                Field.INTERP_GIL_PTR, Field.INTERP_GC_COLLECTING);
        tstate = StructSpans.of(layout, Field.TSTATE_NEXT, Field.TSTATE_INTERP, Field.TSTATE_FRAME,
                Field.TSTATE_CFRAME, Field.TSTATE_CURRENT_FRAME, Field.TSTATE_THREAD_ID, Field.TSTATE_NATIVE_THREAD_ID,
                Field.TSTATE_DATASTACK_CHUNK, Field.TSTATE_DATASTACK_TOP);
        frame = chunkFrames
                ? StructSpans.of(layout, Field.IFRAME_PREVIOUS, Field.IFRAME_EXECUTABLE, Field.IFRAME_INSTR_PTR,
                        Field.IFRAME_OWNER, Field.IFRAME_IS_ENTRY, Field.IFRAME_TLBC_INDEX)
                : StructSpans.of(layout, Field.OBJECT_REFCNT, Field.FRAME_BACK, Field.FRAME_CODE, Field.FRAME_LASTI);
        code = StructSpans.of(layout, CODE_KEY);
        gil = StructSpans.of(layout, Field.GIL_LOCKED, Field.GIL_LAST_HOLDER);
        codeStride = (code.bufferSize() + 15) & ~15;
    }

    StructSpans interp() {
        return interp;
    }

    StructSpans tstate() {
        return tstate;
    }

    StructSpans frame() {
        return frame;
    }

    StructSpans code() {
        return code;
    }

    StructSpans gil() {
        return gil;
    }

    /** Bytes between two code headers in a batch buffer (16-byte aligned). */
    int codeStride() {
        return codeStride;
    }
}
