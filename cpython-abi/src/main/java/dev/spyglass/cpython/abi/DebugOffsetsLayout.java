package dev.spyglass.cpython.abi;

import static dev.spyglass.cpython.abi.Field.*;

import java.util.Map;

/**
 * Turns a validated {@code _Py_DebugOffsets} table (3.13+; member name to value, as
 * {@link DebugOffsets} read it) into the {@link Layout} the readers use: each field from its table
 * member, plus the constants the table does not carry (frame owners, tag bits, object model).
 */
final class DebugOffsetsLayout {
    private DebugOffsetsLayout() {
    }

    static Layout toLayout(Map<String, Long> v, PythonVersion version) {
        boolean is314 = version.isAtLeast(3, 14);
        Layout.Builder b = Layout.builder(version, "_Py_DebugOffsets " + version);
        long runtimeHead = v.get("runtime_state.interpreters_head");
        b.set(RUNTIME_INTERPRETERS_HEAD, runtimeHead);
        b.set(RUNTIME_FINALIZING, v.get("runtime_state.finalizing"));
        // Not in the table: struct pyinterpreters { PyMutex mutex; head; main; next_id } since 3.13.
        b.set(RUNTIME_INTERPRETERS_MAIN, runtimeHead + 8);

        b.set(INTERP_NEXT, v.get("interpreter_state.next"));
        long threadsHead = v.get("interpreter_state.threads_head");
        b.set(INTERP_TSTATE_HEAD, threadsHead);
        // 3.13's table lacks threads_main; struct pythreads { next_unique_id; head; main; ... } there.
        b.set(INTERP_THREADS_MAIN, is314 ? v.get("interpreter_state.threads_main") : threadsHead + 8);
        b.set(INTERP_ID, v.get("interpreter_state.id"));
        b.set(INTERP_GIL_PTR, v.get("interpreter_state.ceval_gil"));
        b.set(INTERP_MODULES, v.get("interpreter_state.imports_modules"));
        if (is314) {
            b.set(INTERP_CODE_OBJECT_GENERATION, v.get("interpreter_state.code_object_generation"));
        }
        // interp->gc is a struct _gc_runtime_state; the table gives collecting relative to it (3.13+).
        b.set(INTERP_GC_COLLECTING, v.get("interpreter_state.gc") + v.get("gc.collecting"));
        // The table gives _gil.locked and _gil.last_holder relative to the interpreter; Layout wants them
        // relative to struct _gil_runtime_state, which interp->ceval.gil points to.
        long gil = v.get("interpreter_state.gil_runtime_state");
        b.set(GIL_LAST_HOLDER, v.get("interpreter_state.gil_runtime_state_holder") - gil);
        b.set(GIL_LOCKED, v.get("interpreter_state.gil_runtime_state_locked") - gil);

        b.set(TSTATE_PREV, v.get("thread_state.prev"));
        b.set(TSTATE_NEXT, v.get("thread_state.next"));
        b.set(TSTATE_INTERP, v.get("thread_state.interp"));
        b.set(TSTATE_CURRENT_FRAME, v.get("thread_state.current_frame"));
        b.set(TSTATE_THREAD_ID, v.get("thread_state.thread_id"));
        b.set(TSTATE_NATIVE_THREAD_ID, v.get("thread_state.native_thread_id"));
        long chunk = v.get("thread_state.datastack_chunk");
        b.set(TSTATE_DATASTACK_CHUNK, chunk);
        // Not in the table: datastack_chunk, datastack_top, datastack_limit are consecutive pointers
        // since 3.11.
        b.set(TSTATE_DATASTACK_TOP, chunk + 8);
        b.set(TSTATE_DATASTACK_LIMIT, chunk + 16);

        // Not in the table: _PyStackChunk { previous; size; top; data[] } has not changed since 3.11.
        b.set(CHUNK_PREVIOUS, 0).set(CHUNK_SIZE, 8).set(CHUNK_TOP, 16).set(CHUNK_DATA, 24);

        b.set(IFRAME_PREVIOUS, v.get("interpreter_frame.previous"));
        b.set(IFRAME_EXECUTABLE, v.get("interpreter_frame.executable"));
        long instrPtr = v.get("interpreter_frame.instr_ptr");
        b.set(IFRAME_INSTR_PTR, instrPtr);
        b.set(IFRAME_OWNER, v.get("interpreter_frame.owner"));
        b.set(IFRAME_LOCALSPLUS, v.get("interpreter_frame.localsplus"));
        b.set(SIZEOF_IFRAME, v.get("interpreter_frame.size"));
        if (is314) {
            b.set(IFRAME_STACKPOINTER, v.get("interpreter_frame.stackpointer"));
            long tlbcIndex = v.get("interpreter_frame.tlbc_index");
            if (version.freeThreaded() && tlbcIndex != 0) {
                b.set(IFRAME_TLBC_INDEX, tlbcIndex);
            }
        } else {
            // Not in the 3.13 table: int stacktop directly follows _Py_CODEUNIT *instr_ptr.
            b.set(IFRAME_STACKTOP, instrPtr + 8);
        }

        b.set(CODE_NAME, v.get("code_object.name"));
        b.set(CODE_QUALNAME, v.get("code_object.qualname"));
        b.set(CODE_FILENAME, v.get("code_object.filename"));
        b.set(CODE_FIRSTLINENO, v.get("code_object.firstlineno"));
        b.set(CODE_LINETABLE, v.get("code_object.linetable"));
        b.set(CODE_CODE_ADAPTIVE, v.get("code_object.co_code_adaptive"));
        long argcount = v.get("code_object.argcount");
        b.set(CODE_ARGCOUNT, argcount);
        // Not in the table: int co_flags directly precedes int co_argcount since 3.11.
        b.set(CODE_FLAGS, argcount - 4);
        if (is314 && version.freeThreaded() && v.get("code_object.co_tlbc") != 0) {
            b.set(CODE_TLBC, v.get("code_object.co_tlbc"));
        }

        b.set(OBJECT_TYPE, v.get("pyobject.ob_type"));
        b.set(VAROBJECT_SIZE, v.get("bytes_object.ob_size"));
        b.set(TYPE_NAME, v.get("type_object.tp_name"));
        b.set(TYPE_FLAGS, v.get("type_object.tp_flags"));
        b.set(BYTES_DATA, v.get("bytes_object.ob_sval"));
        b.set(UNICODE_LENGTH, v.get("unicode_object.length"));
        b.set(UNICODE_STATE, v.get("unicode_object.state"));
        b.set(UNICODE_ASCII_DATA, v.get("unicode_object.asciiobject_size"));
        // Not in the table: PyUnicodeObject is PyCompactUnicodeObject followed by the data pointer, so
        // both sit one pointer before sizeof(PyUnicodeObject) (validated against asciiobject_size).
        long unicodeSize = v.get("unicode_object.size");
        b.set(UNICODE_COMPACT_DATA, unicodeSize - 8);
        b.set(UNICODE_DATA_PTR, unicodeSize - 8);

        if (is314) {
            b.set(GEN_IFRAME, v.get("gen_object.gi_iframe"));
            b.set(GEN_FRAME_STATE, v.get("gen_object.gi_frame_state"));
            b.set(LLIST_NEXT, v.get("llist_node.next"));
            b.set(SET_USED, v.get("set_object.used"));
            b.set(SET_MASK, v.get("set_object.mask"));
            b.set(SET_TABLE, v.get("set_object.table"));
        } else if (!version.freeThreaded()) {
            // 3.13's table has no gen_object or set_object group: the default build's PyGenObject (as 3.12:
            // frame_state at 67, the inline frame at 72) and PySetObject {fill, used, mask, table}, for
            // asyncio task stacks. Not for 3.13t, whose larger object header moves both.
            b.set(GEN_IFRAME, 72).set(GEN_FRAME_STATE, 67).set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40);
        }
        b.set(LONG_TAG, v.get("long_object.lv_tag"));
        b.set(LONG_DIGITS, v.get("long_object.ob_digit"));

        b.set(SIZEOF_INTERP, v.get("interpreter_state.size"));
        b.set(SIZEOF_TSTATE, v.get("thread_state.size"));
        b.set(SIZEOF_CODE, v.get("code_object.size"));

        // Constants are not in the table. enum _frameowner: 3.13 ends at FRAME_OWNED_BY_CSTACK = 3; 3.14
        // inserts FRAME_OWNED_BY_INTERPRETER = 3 and moves CSTACK to 4; 3.15 removes CSTACK. In every
        // version, owner >= 3 is not a Python frame.
        if (version.is(3, 13)) {
            b.set(CONST_FRAME_OWNED_BY_CSTACK, 3);
        } else if (version.is(3, 14)) {
            b.set(CONST_FRAME_OWNED_BY_CSTACK, 4);
        }
        b.set(CONST_FRAME_OWNER_FIRST_NON_PYTHON, 3);
        // 3.14 made f_executable a _PyStackRef whose low bits are tags (Py_TAG_BITS); object pointers
        // are at least 8-aligned, so clearing two bits is right for both default and free-threaded builds.
        b.set(CONST_STACKREF_TAG_MASK, is314 ? 3 : 0);
        b.set(CONST_CODEUNIT_SIZE, 2);
        ObjectModel.addTo(b, version);
        if (version.isAtLeast(3, 15)) {
            // 3.15's table carries these (ht_cached_keys moved from 880 to 888 in 3.15).
            b.set(TYPE_BASICSIZE, v.get("type_object.tp_basicsize"));
            b.set(TYPE_DICTOFFSET, v.get("type_object.tp_dictoffset"));
            b.set(HEAPTYPE_CACHED_KEYS, v.get("heap_type_object.ht_cached_keys"));
        }
        return b.build();
    }
}
