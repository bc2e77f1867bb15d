package dev.spyglass.cpython.abi;

/**
 * A field (or size, or constant) of a CPython struct that the stack reader follows. Names are
 * {@code STRUCT_FIELD} after the C names; the comment says which versions have it. A {@link Layout}
 * maps each field to its byte offset, or to {@link Layout#ABSENT} when the version has no such field.
 *
 * <p>Offsets are relative to the start of the struct named by the prefix: {@code RUNTIME_*} to
 * {@code _PyRuntime}, {@code INTERP_*} to {@code PyInterpreterState}, {@code TSTATE_*} to
 * {@code PyThreadState}, {@code FRAME_*} to {@code PyFrameObject} (≤3.10), {@code IFRAME_*} to
 * {@code _PyInterpreterFrame} (3.11+), {@code CODE_*} to {@code PyCodeObject}, and so on.
 * {@code SIZEOF_*} entries are struct sizes; {@code CONST_*} entries are values, not offsets.
 */
public enum Field {
    // _PyRuntimeState (3.7+)
    /** {@code _PyRuntime.interpreters.head}: first {@code PyInterpreterState*}. */
    RUNTIME_INTERPRETERS_HEAD,
    /** {@code _PyRuntime.interpreters.main}. */
    RUNTIME_INTERPRETERS_MAIN,
    /** {@code _PyRuntime.gilstate.tstate_current} (3.7 – 3.11): the thread state holding the GIL. */
    RUNTIME_TSTATE_CURRENT,
    /** {@code _PyRuntime.ceval.gil.last_holder} (3.7 – 3.11). */
    RUNTIME_GIL_LAST_HOLDER,
    /** {@code _PyRuntime.ceval.gil.locked} (3.7 – 3.11). */
    RUNTIME_GIL_LOCKED,

    // PyInterpreterState
    /** {@code interp->next}. */
    INTERP_NEXT,
    /** {@code interp->tstate_head} (≤3.11) or {@code interp->threads.head} (3.12+). */
    INTERP_TSTATE_HEAD,
    /** {@code interp->id} (3.7+). */
    INTERP_ID,
    /** {@code interp->ceval.gil} (3.12+): pointer to {@code struct _gil_runtime_state}. */
    INTERP_GIL_PTR,
    /** {@code interp->modules} ({@code sys.modules} dict; ≤3.11 direct member, 3.12+ {@code imports.modules}). */
    INTERP_MODULES,
    /** {@code interp->threads.main} (3.13+): the main thread's {@code PyThreadState*}. */
    INTERP_THREADS_MAIN,
    /**
     * {@code interp->_code_object_generation} (3.14+; a {@code uint64}): bumped when code objects are
     * freed, so a cache of decoded code objects can be invalidated cheaply.
     */
    INTERP_CODE_OBJECT_GENERATION,

    // struct _gil_runtime_state (3.12+, via INTERP_GIL_PTR)
    /** {@code gil->last_holder}. */
    GIL_LAST_HOLDER,
    /** {@code gil->locked}. */
    GIL_LOCKED,

    // PyThreadState
    /** {@code tstate->prev} (3.4+; absent in 2.7). */
    TSTATE_PREV,
    /** {@code tstate->next}. */
    TSTATE_NEXT,
    /** {@code tstate->interp}. */
    TSTATE_INTERP,
    /** {@code tstate->frame} (≤3.10): {@code PyFrameObject*}. */
    TSTATE_FRAME,
    /** {@code tstate->cframe} (3.11, 3.12): {@code _PyCFrame*}. */
    TSTATE_CFRAME,
    /** {@code tstate->current_frame} (3.13+): {@code _PyInterpreterFrame*}. */
    TSTATE_CURRENT_FRAME,
    /** {@code tstate->thread_id} ({@code pthread_t}, Python's thread ident). */
    TSTATE_THREAD_ID,
    /** {@code tstate->native_thread_id} (3.11+; the kernel TID). */
    TSTATE_NATIVE_THREAD_ID,
    /** {@code tstate->datastack_chunk} (3.11+). */
    TSTATE_DATASTACK_CHUNK,
    /** {@code tstate->datastack_top} (3.11+). */
    TSTATE_DATASTACK_TOP,
    /** {@code tstate->datastack_limit} (3.11+). */
    TSTATE_DATASTACK_LIMIT,

    // _PyCFrame (3.11, 3.12)
    /** {@code cframe->current_frame}. */
    CFRAME_CURRENT_FRAME,

    // _PyStackChunk (3.11+)
    /** {@code chunk->previous}. */
    CHUNK_PREVIOUS,
    /** {@code chunk->size} (bytes of the whole chunk). */
    CHUNK_SIZE,
    /** {@code chunk->top} (index into data, in words). */
    CHUNK_TOP,
    /** offset of {@code chunk->data[]}. */
    CHUNK_DATA,

    // PyFrameObject (≤3.10)
    /** {@code f_back}. */
    FRAME_BACK,
    /** {@code f_code}. */
    FRAME_CODE,
    /** {@code f_lasti}: a byte offset (≤3.9) or a code-unit index (3.10). */
    FRAME_LASTI,
    /** {@code f_lineno}. */
    FRAME_LINENO,

    // _PyInterpreterFrame (3.11+)
    /** {@code previous}. */
    IFRAME_PREVIOUS,
    /** {@code f_code} (3.11, 3.12) or {@code f_executable} (3.13+; a tagged {@code _PyStackRef} in 3.14). */
    IFRAME_EXECUTABLE,
    /** {@code prev_instr} (3.11, 3.12) or {@code instr_ptr} (3.13+). */
    IFRAME_INSTR_PTR,
    /** {@code owner} (a {@code char}). */
    IFRAME_OWNER,
    /** {@code is_entry} (3.11 only; a {@code bool}). */
    IFRAME_IS_ENTRY,
    /** {@code stacktop} (3.11 – 3.13; an {@code int}). */
    IFRAME_STACKTOP,
    /** {@code stackpointer} (3.14+; a {@code _PyStackRef*}, replaces {@code stacktop}). */
    IFRAME_STACKPOINTER,
    /** {@code localsplus} offset. */
    IFRAME_LOCALSPLUS,
    /** {@code tlbc_index} (3.14 free-threaded; an {@code int32}). */
    IFRAME_TLBC_INDEX,

    // PyCodeObject
    /** {@code co_name}. */
    CODE_NAME,
    /** {@code co_qualname} (3.11+). */
    CODE_QUALNAME,
    /** {@code co_filename}. */
    CODE_FILENAME,
    /** {@code co_firstlineno} (an {@code int}). */
    CODE_FIRSTLINENO,
    /** {@code co_lnotab} (≤3.9), {@code co_linetable} (3.10+): a bytes object. */
    CODE_LINETABLE,
    /** {@code co_code} (≤3.10): a bytes object. */
    CODE_CODE,
    /** offset of {@code co_code_adaptive} (3.11+): the bytecode inline in the code object. */
    CODE_CODE_ADAPTIVE,
    /** {@code co_argcount}, used to validate cached code objects. */
    CODE_ARGCOUNT,
    /** {@code co_flags}, used to validate cached code objects. */
    CODE_FLAGS,
    /** {@code _co_tlbc} (3.14 free-threaded): per-thread bytecode copies. */
    CODE_TLBC,

    // Objects
    /** {@code ob_type}. */
    OBJECT_TYPE,
    /** {@code ob_size} of {@code PyVarObject}. */
    VAROBJECT_SIZE,
    /** {@code tp_name} of {@code PyTypeObject}. */
    TYPE_NAME,
    /** {@code tp_flags} of {@code PyTypeObject}. */
    TYPE_FLAGS,
    /** {@code ob_sval} of {@code PyBytesObject} (3.x) / {@code PyStringObject} (2.7). */
    BYTES_DATA,
    /** {@code length} of {@code PyASCIIObject} (3.x). */
    UNICODE_LENGTH,
    /** {@code state} bit field of {@code PyASCIIObject} (3.x). */
    UNICODE_STATE,
    /** {@code sizeof(PyASCIIObject)}: where a compact ASCII string's characters start. */
    UNICODE_ASCII_DATA,
    /** {@code sizeof(PyCompactUnicodeObject)}: where a compact non-ASCII string's characters start. */
    UNICODE_COMPACT_DATA,
    /** {@code data.any} of {@code PyUnicodeObject}: pointer to a non-compact string's characters. */
    UNICODE_DATA_PTR,
    /** {@code length} of {@code PyUnicodeObject} in 2.7 (UCS4 or UCS2 {@code Py_UNICODE*} at {@code str}). */
    UNICODE27_LENGTH,
    /** {@code str} pointer of a 2.7 {@code PyUnicodeObject}. */
    UNICODE27_STR,

    // Sizes
    SIZEOF_INTERP,
    SIZEOF_TSTATE,
    SIZEOF_FRAME,
    SIZEOF_IFRAME,
    SIZEOF_CODE,

    // Constants
    /** Value of {@code FRAME_OWNED_BY_CSTACK} (3.12+): shim/entry frames not to report. */
    CONST_FRAME_OWNED_BY_CSTACK,
    /** Lowest {@code owner} value that is not a Python frame (3.12, 3.13: CSTACK = 3; 3.14: 3 = INTERPRETER). */
    CONST_FRAME_OWNER_FIRST_NON_PYTHON,
    /** Bits to clear from a tagged {@code _PyStackRef} (3.14: 0b11), 0 when untagged. */
    CONST_STACKREF_TAG_MASK,
    /** Size in bytes of one code unit / the {@code sizeof(_Py_CODEUNIT)} (2 on 3.6+, instruction size varies in 2.7 and 3.5-). */
    CONST_CODEUNIT_SIZE,
    /** In 3.10, {@code f_lasti} counts code units: multiply by this to get bytes (1 elsewhere). */
    CONST_LASTI_MULTIPLIER
}
