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
    /**
     * {@code _PyRuntime.finalizing} (3.7, 3.8) / {@code _finalizing} (3.9+; {@code runtime_state.finalizing}
     * in {@code _Py_DebugOffsets}): the {@code PyThreadState*} finalising the runtime, NULL until
     * {@code Py_FinalizeEx} has run the atexit handlers (then modules are torn down and garbage collected).
     * 3.6 keeps it in the global {@code _Py_Finalizing}; 2.7 has neither.
     */
    RUNTIME_FINALIZING,
    /**
     * {@code _PyRuntime.gc.collecting} (3.7, 3.8): nonzero while the cyclic garbage collector runs. 3.9 moved
     * the collector's state into the interpreter ({@link #INTERP_GC_COLLECTING}); 2.7 and 3.6 keep it in
     * {@code gcmodule.c}'s static {@code collecting}, found through {@code .symtab} only.
     */
    RUNTIME_GC_COLLECTING,

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
    /**
     * {@code interp->gc.collecting} (an {@code int}, non-zero while the interpreter's cyclic garbage
     * collector runs; 3.9+ per interpreter): 3.9 - 3.12 from the built-in tables (checked against gdb on
     * pyenv's builds), 3.13+ from {@code _Py_DebugOffsets}. Up to 3.8 the collector's state is in
     * {@code _PyRuntime} (3.7, 3.8) or static (2.7, 3.6): not read.
     */
    INTERP_GC_COLLECTING,

    // struct _gil_runtime_state: 3.7 - 3.11 embedded at _PyRuntime.ceval.gil (see RUNTIME_GIL_*),
    // 3.12+ via INTERP_GIL_PTR. 2.7 and 3.6 keep the GIL in static variables (no struct).
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
    /**
     * {@code ob_refcnt} (2.7 – 3.10 only, where the reader checks frame objects: a freed frame, on its code
     * object's zombie slot or the free list, keeps a count of 0 until it is handed out again).
     */
    OBJECT_REFCNT,
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
    /**
     * {@code sizeof(Py_UNICODE)} in 2.7: 4 in the table (UCS4 builds: pyenv, Debian, most Linux
     * distributions; {@code sys.maxunicode} 1114111). A UCS2 build exports {@code PyUnicodeUCS2_*} instead
     * of {@code PyUnicodeUCS4_*} symbols; override with {@link Layout#toBuilder} for it.
     */
    CONST_UNICODE27_UNIT_SIZE,

    // Modules, types and dicts: what reading the threading module's registry needs (see ObjectModel).
    /** {@code md_dict} of {@code PyModuleObject}: the module's namespace dict. */
    MODULE_DICT,
    /** {@code tp_basicsize} of {@code PyTypeObject}; where 3.13+ inline values start in an instance. */
    TYPE_BASICSIZE,
    /** {@code tp_dictoffset} of {@code PyTypeObject}: where an instance keeps its {@code __dict__} pointer. */
    TYPE_DICTOFFSET,
    /** {@code ht_cached_keys} of {@code PyHeapTypeObject} (3.11+): the keys shared by instances' values. */
    HEAPTYPE_CACHED_KEYS,
    /** {@code ma_used} of {@code PyDictObject}. */
    DICT_USED,
    /** {@code ma_mask} of a 2.7 {@code PyDictObject} (table size - 1). */
    DICT27_MASK,
    /** {@code ma_table} of a 2.7 {@code PyDictObject}: {@code PyDictEntry {hash, key, value}} entries. */
    DICT27_TABLE,
    /** {@code ma_keys} of {@code PyDictObject} (3.6+). */
    DICT_KEYS,
    /** {@code ma_values} of {@code PyDictObject} (3.6+; non-NULL for a split table). */
    DICT_VALUES,
    /** {@code dk_size} of {@code PyDictKeysObject} (3.6 – 3.10). */
    DICTKEYS_SIZE,
    /** {@code dk_log2_size} (3.11+; a {@code uint8}). */
    DICTKEYS_LOG2_SIZE,
    /** {@code dk_log2_index_bytes} (3.11+; a {@code uint8}): the index array is {@code 1 << this} bytes. */
    DICTKEYS_LOG2_INDEX_BYTES,
    /** {@code dk_kind} (3.11+; a {@code uint8}): 0 general (hash, key, value), 1 unicode, 2 split (key, value). */
    DICTKEYS_KIND,
    /** {@code dk_nentries} of {@code PyDictKeysObject} (3.6+). */
    DICTKEYS_NENTRIES,
    /** offset of {@code dk_indices} (3.6+); the entries follow the index array. */
    DICTKEYS_INDICES,
    /** offset of the {@code values} array in {@code PyDictValues} (3.6+; 8 from 3.13, after a 4-byte header). */
    DICTVALUES_VALUES,
    /**
     * How many bytes before the object a managed {@code __dict__} pointer sits (3.11+; 24: in the pre-header).
     * 3.11: a {@code PyDictObject*}; 3.12: a {@code PyDictOrValues} (low bit set: a values pointer minus 1);
     * 3.13+: {@code PyManagedDictPointer}, a {@code PyDictObject*}.
     */
    CONST_MANAGED_DICT_BEFORE,
    /** How many bytes before a 3.11 managed object its {@code PyDictValues*} sits (32; 3.11 only). */
    CONST_MANAGED_VALUES_BEFORE,
    /** {@code Py_TPFLAGS_MANAGED_DICT} (3.11+; {@code 1 << 4}). */
    CONST_TPFLAGS_MANAGED_DICT,
    /** {@code Py_TPFLAGS_INLINE_VALUES} (3.13+; {@code 1 << 2}). */
    CONST_TPFLAGS_INLINE_VALUES,

    // Sizes
    /** {@code sizeof(PyInterpreterState)}. */
    SIZEOF_INTERP,
    /** {@code sizeof(PyThreadState)}. */
    SIZEOF_TSTATE,
    /** {@code sizeof(PyFrameObject)} (≤3.10; its {@code f_localsplus} items follow). */
    SIZEOF_FRAME,
    /** {@code sizeof(_PyInterpreterFrame)} (3.11+; its {@code localsplus} items follow). */
    SIZEOF_IFRAME,
    /** {@code sizeof(PyCodeObject)}. */
    SIZEOF_CODE,

    // Coroutines, task lists and sets: asyncio task stacks (3.14+, from _Py_DebugOffsets)
    /** {@code gi_iframe} of {@code PyGenObject}/{@code PyCoroObject}: the frame held inline in the object. */
    GEN_IFRAME,
    /** {@code gi_frame_state} of {@code PyGenObject} (an {@code int8}; its values differ per version). */
    GEN_FRAME_STATE,
    /** {@code next} of {@code struct llist_node} (the per-thread task lists of 3.14's {@code _asyncio}). */
    LLIST_NEXT,
    /** {@code used} of {@code PySetObject}. */
    SET_USED,
    /** {@code mask} of {@code PySetObject} (table size - 1). */
    SET_MASK,
    /** {@code table} of {@code PySetObject}: {@code setentry {key, hash}} entries. */
    SET_TABLE,
    /** {@code long_value.lv_tag} of {@code PyLongObject} (3.12+): digit count {@code << 3} and sign bits. */
    LONG_TAG,
    /** {@code long_value.ob_digit} of {@code PyLongObject} (3.12+): 30-bit digits, least significant first. */
    LONG_DIGITS,

    // Constants
    /** Value of {@code FRAME_OWNED_BY_CSTACK} (3.12+): shim/entry frames not to report. */
    CONST_FRAME_OWNED_BY_CSTACK,
    /**
     * Lowest {@code owner} value that is not a Python frame, 3 in every version that has one (3.11+):
     * 3.11's enum ends at 2; 3.12, 3.13: CSTACK = 3; 3.14: 3 = INTERPRETER, 4 = CSTACK.
     */
    CONST_FRAME_OWNER_FIRST_NON_PYTHON,
    /**
     * Bits to clear from the word at {@code IFRAME_EXECUTABLE} (and from {@code localsplus} items):
     * 0b11 in 3.14+ (a tagged {@code _PyStackRef}), 0 in 3.11 – 3.13.
     */
    CONST_STACKREF_TAG_MASK,
    /** {@code sizeof(_Py_CODEUNIT)}: 2 on 3.6+; absent in 2.7, whose instructions are 1 or 3 bytes. */
    CONST_CODEUNIT_SIZE,
    /**
     * Multiply {@code f_lasti} by this to get a byte offset: 2 in 3.10 (it counts code units), 1 in 2.7 – 3.9;
     * absent from 3.11 (frames hold an instruction pointer instead).
     */
    CONST_LASTI_MULTIPLIER
}
