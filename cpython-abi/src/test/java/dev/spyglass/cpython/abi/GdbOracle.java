package dev.spyglass.cpython.abi;

import static dev.spyglass.cpython.abi.Field.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Asks gdb, reading an ELF object's DWARF, what each {@link Field} is for a given CPython version: one
 * C expression per field ({@code (long)&((PyThreadState*)0)->frame}, {@code sizeof(...)}, enum values),
 * all evaluated in one gdb run.
 */
final class GdbOracle {

    private static final Pattern RESULT = Pattern.compile("^@@([A-Z0-9_]+)=(-?[0-9]+)?\\s*$");

    private GdbOracle() {
    }

    /** The C expression giving {@code field} for {@code major.minor}, where the version has a C member for it. */
    static Map<Field, String> expressions(int major, int minor) {
        Map<Field, String> e = new EnumMap<>(Field.class);
        boolean py3 = major == 3;
        int v = major * 100 + minor;
        String rt = "_PyRuntimeState";
        if (v >= 307) {
            e.put(RUNTIME_INTERPRETERS_HEAD, off(rt, "interpreters.head"));
            e.put(RUNTIME_INTERPRETERS_MAIN, off(rt, "interpreters.main"));
            e.put(RUNTIME_FINALIZING, off(rt, v <= 308 ? "finalizing" : "_finalizing"));
            e.put(RUNTIME_TSTATE_CURRENT, off(rt, "gilstate.tstate_current"));
            e.put(RUNTIME_GIL_LAST_HOLDER, off(rt, "ceval.gil.last_holder"));
            e.put(RUNTIME_GIL_LOCKED, off(rt, "ceval.gil.locked"));
            if (v <= 308) {
                e.put(RUNTIME_GC_COLLECTING, off(rt, "gc.collecting"));
            }
        }
        String is = "PyInterpreterState";
        e.put(INTERP_NEXT, off(is, "next"));
        e.put(INTERP_TSTATE_HEAD, off(is, v <= 310 ? "tstate_head" : "threads.head"));
        e.put(INTERP_THREADS_MAIN, off(is, "threads.main"));
        e.put(INTERP_CODE_OBJECT_GENERATION, off(is, "_code_object_generation"));
        e.put(INTERP_GC_COLLECTING, off(is, "gc.collecting"));
        e.put(INTERP_ID, off(is, "id"));
        e.put(INTERP_GIL_PTR, off(is, "ceval.gil"));
        e.put(INTERP_MODULES, off(is, v <= 311 ? "modules" : "imports.modules"));
        e.put(GIL_LAST_HOLDER, off("struct _gil_runtime_state", "last_holder"));
        e.put(GIL_LOCKED, off("struct _gil_runtime_state", "locked"));
        String ts = "PyThreadState";
        e.put(TSTATE_PREV, off(ts, "prev"));
        e.put(TSTATE_NEXT, off(ts, "next"));
        e.put(TSTATE_INTERP, off(ts, "interp"));
        e.put(TSTATE_FRAME, off(ts, "frame"));
        e.put(TSTATE_CFRAME, off(ts, "cframe"));
        e.put(TSTATE_CURRENT_FRAME, off(ts, "current_frame"));
        e.put(TSTATE_THREAD_ID, off(ts, "thread_id"));
        e.put(TSTATE_NATIVE_THREAD_ID, off(ts, "native_thread_id"));
        e.put(TSTATE_DATASTACK_CHUNK, off(ts, "datastack_chunk"));
        e.put(TSTATE_DATASTACK_TOP, off(ts, "datastack_top"));
        e.put(TSTATE_DATASTACK_LIMIT, off(ts, "datastack_limit"));
        e.put(CFRAME_CURRENT_FRAME, off("_PyCFrame", "current_frame"));
        e.put(CHUNK_PREVIOUS, off("_PyStackChunk", "previous"));
        e.put(CHUNK_SIZE, off("_PyStackChunk", "size"));
        e.put(CHUNK_TOP, off("_PyStackChunk", "top"));
        e.put(CHUNK_DATA, off("_PyStackChunk", "data"));
        if (v <= 310) {
            // 3.11+ still has a PyFrameObject, but the reader never follows it: FRAME_* stay absent.
            e.put(OBJECT_REFCNT, off("PyObject", "ob_refcnt"));
            e.put(FRAME_BACK, off("PyFrameObject", "f_back"));
            e.put(FRAME_CODE, off("PyFrameObject", "f_code"));
            e.put(FRAME_LASTI, off("PyFrameObject", "f_lasti"));
            e.put(FRAME_LINENO, off("PyFrameObject", "f_lineno"));
            e.put(SIZEOF_FRAME, "(long)sizeof(PyFrameObject)");
        }
        String fr = "_PyInterpreterFrame";
        e.put(IFRAME_PREVIOUS, off(fr, "previous"));
        e.put(IFRAME_EXECUTABLE, off(fr, v <= 312 ? "f_code" : "f_executable"));
        e.put(IFRAME_INSTR_PTR, off(fr, v <= 312 ? "prev_instr" : "instr_ptr"));
        e.put(IFRAME_OWNER, off(fr, "owner"));
        e.put(IFRAME_IS_ENTRY, off(fr, "is_entry"));
        e.put(IFRAME_STACKTOP, off(fr, "stacktop"));
        e.put(IFRAME_STACKPOINTER, off(fr, "stackpointer"));
        e.put(IFRAME_LOCALSPLUS, off(fr, "localsplus"));
        e.put(IFRAME_TLBC_INDEX, off(fr, "tlbc_index"));
        e.put(SIZEOF_IFRAME, "(long)sizeof(" + fr + ")");
        String co = "PyCodeObject";
        e.put(CODE_NAME, off(co, "co_name"));
        e.put(CODE_QUALNAME, off(co, "co_qualname"));
        e.put(CODE_FILENAME, off(co, "co_filename"));
        e.put(CODE_FIRSTLINENO, off(co, "co_firstlineno"));
        e.put(CODE_LINETABLE, off(co, v <= 309 ? "co_lnotab" : "co_linetable"));
        e.put(CODE_CODE, off(co, "co_code"));
        e.put(CODE_CODE_ADAPTIVE, off(co, "co_code_adaptive"));
        e.put(CODE_ARGCOUNT, off(co, "co_argcount"));
        e.put(CODE_FLAGS, off(co, "co_flags"));
        e.put(CODE_TLBC, off(co, "co_tlbc"));
        e.put(OBJECT_TYPE, off("PyObject", "ob_type"));
        e.put(VAROBJECT_SIZE, off("PyVarObject", "ob_size"));
        e.put(TYPE_NAME, off("PyTypeObject", "tp_name"));
        e.put(TYPE_FLAGS, off("PyTypeObject", "tp_flags"));
        e.put(BYTES_DATA, off(py3 ? "PyBytesObject" : "PyStringObject", "ob_sval"));
        if (py3) {
            e.put(UNICODE_LENGTH, off("PyASCIIObject", "length"));
            e.put(UNICODE_STATE, off("PyASCIIObject", "state"));
            e.put(UNICODE_ASCII_DATA, "(long)sizeof(PyASCIIObject)");
            e.put(UNICODE_COMPACT_DATA, "(long)sizeof(PyCompactUnicodeObject)");
            e.put(UNICODE_DATA_PTR, off("PyUnicodeObject", "data.any"));
        } else {
            e.put(UNICODE27_LENGTH, off("PyUnicodeObject", "length"));
            e.put(UNICODE27_STR, off("PyUnicodeObject", "str"));
            e.put(CONST_UNICODE27_UNIT_SIZE, "(long)sizeof(Py_UNICODE)");
        }
        e.put(SIZEOF_INTERP, "(long)sizeof(PyInterpreterState)");
        e.put(SIZEOF_TSTATE, "(long)sizeof(PyThreadState)");
        e.put(SIZEOF_CODE, "(long)sizeof(PyCodeObject)");
        e.put(CONST_FRAME_OWNED_BY_CSTACK, "(long)FRAME_OWNED_BY_CSTACK");
        // The first owner value that is not a Python frame: one past FRAME_OWNED_BY_FRAME_OBJECT in 3.11
        // (the enum ends there), FRAME_OWNED_BY_CSTACK in 3.12/3.13, FRAME_OWNED_BY_INTERPRETER in 3.14.
        e.put(CONST_FRAME_OWNER_FIRST_NON_PYTHON, v == 311 ? "(long)FRAME_OWNED_BY_FRAME_OBJECT + 1"
                : v >= 314 ? "(long)FRAME_OWNED_BY_INTERPRETER" : "(long)FRAME_OWNED_BY_CSTACK");
        // Mask 0 means f_code/f_executable is a plain pointer: dereferencing it type-checks only then.
        // 3.14+: f_executable is a _PyStackRef {uintptr_t bits}; DWARF carries no macros, so only the type is
        // checked, the value is Py_TAG_BITS of the default build (3; free-threaded uses 1, and clearing 3
        // bits is right there too: objects are at least 8-aligned).
        e.put(CONST_STACKREF_TAG_MASK, v >= 314 ? "(long)(3 + 0 * sizeof(((" + fr + "*)0)->f_executable.bits))"
                : "(long)(0 * sizeof(*((" + fr + "*)0)->" + (v <= 312 ? "f_code" : "f_executable") + "))");
        e.put(CONST_CODEUNIT_SIZE, "(long)sizeof(_Py_CODEUNIT)");
        // Read from _Py_DebugOffsets for asyncio task stacks only (gen_object, llist_node and set_object are in
        // its 3.14+ table, long_object in 3.13+): absent from the layouts before.
        // 3.8 - 3.13 (asyncio tasks read through sys.modules): static values for sets, and 3.11+ generators.
        if (v >= 308) {
            e.put(SET_USED, off("PySetObject", "used"));
            e.put(SET_MASK, off("PySetObject", "mask"));
            e.put(SET_TABLE, off("PySetObject", "table"));
        }
        if (v >= 311) {
            e.put(GEN_IFRAME, off("PyGenObject", "gi_iframe"));
            e.put(GEN_FRAME_STATE, off("PyGenObject", "gi_frame_state"));
        }
        if (v >= 314) {
            e.put(LLIST_NEXT, off("struct llist_node", "next"));
        }
        if (v >= 312) {
            e.put(LONG_TAG, off("PyLongObject", "long_value.lv_tag"));
            e.put(LONG_DIGITS, off("PyLongObject", "long_value.ob_digit"));
        }
        e.put(MODULE_DICT, off("PyModuleObject", "md_dict"));
        e.put(TYPE_BASICSIZE, off("PyTypeObject", "tp_basicsize"));
        e.put(TYPE_DICTOFFSET, off("PyTypeObject", "tp_dictoffset"));
        e.put(DICT_USED, off("PyDictObject", "ma_used"));
        if (py3) {
            e.put(DICT_KEYS, off("PyDictObject", "ma_keys"));
            e.put(DICT_VALUES, off("PyDictObject", "ma_values"));
            e.put(DICTKEYS_SIZE, off("PyDictKeysObject", "dk_size"));
            e.put(DICTKEYS_LOG2_SIZE, off("PyDictKeysObject", "dk_log2_size"));
            e.put(DICTKEYS_LOG2_INDEX_BYTES, off("PyDictKeysObject", "dk_log2_index_bytes"));
            e.put(DICTKEYS_KIND, off("PyDictKeysObject", "dk_kind"));
            e.put(DICTKEYS_NENTRIES, off("PyDictKeysObject", "dk_nentries"));
            e.put(DICTKEYS_INDICES, off("PyDictKeysObject", "dk_indices"));
            // ≤3.10 ma_values is a plain PyObject** (values start at 0); 3.11+ a PyDictValues*.
            e.put(DICTVALUES_VALUES, v <= 310 ? "(long)(0 * sizeof(*((PyDictObject*)0)->ma_values))"
                    : off("PyDictValues", "values"));
        } else {
            e.put(DICT27_MASK, off("PyDictObject", "ma_mask"));
            e.put(DICT27_TABLE, off("PyDictObject", "ma_table"));
        }
        if (v >= 311) {
            // ≤3.10 also has ht_cached_keys, but instances there always own a dict: left absent.
            e.put(HEAPTYPE_CACHED_KEYS, off("PyHeapTypeObject", "ht_cached_keys"));
        }
        return e;
    }

    private static String off(String type, String member) {
        return "(long)&((" + type + "*)0)->" + member;
    }

    /**
     * Evaluates every expression in one gdb run over {@code elf}.
     *
     * @return each field's value, or empty when gdb could not evaluate it (no such member or symbol)
     */
    static Map<Field, OptionalLong> evaluate(Path elf, Map<Field, String> expressions)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("gdb", "-batch", "-nx"));
        for (Map.Entry<Field, String> x : expressions.entrySet()) {
            cmd.addAll(List.of("-ex", "echo @@" + x.getKey() + "=", "-ex", "output " + x.getValue(), "-ex", "echo \\n"));
        }
        cmd.add(elf.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("gdb did not finish within 60 s on " + elf);
        }
        Map<Field, OptionalLong> result = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            // gdb prints an error message right after "@@X=" without a newline when evaluation fails.
            Matcher m = RESULT.matcher(line);
            int at = line.indexOf("@@");
            if (at > 0) {
                m = RESULT.matcher(line.substring(at));
            }
            if (m.matches()) {
                result.put(Field.valueOf(m.group(1)),
                        m.group(2) == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(m.group(2))));
            } else if (at >= 0) {
                String rest = line.substring(at + 2);
                int eq = rest.indexOf('=');
                if (eq > 0) {
                    result.put(Field.valueOf(rest.substring(0, eq)), OptionalLong.empty());
                }
            }
        }
        if (result.size() != expressions.size()) {
            throw new AssertionError("gdb answered " + result.size() + " of " + expressions.size()
                    + " expressions on " + elf + ":\n" + out);
        }
        return result;
    }
}
