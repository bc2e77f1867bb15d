package dev.spyglass.cpython.abi;

import static dev.spyglass.cpython.abi.Field.*;

import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Built-in {@link Layout} tables for CPython 2.7 and 3.6 – 3.12 on x86-64 Linux (LP64, GCC), with
 * patch-level overrides where CPython changed a struct inside a minor series. 3.13 and later carry
 * {@code _Py_DebugOffsets} in the target itself: read them with {@link DebugOffsets}.
 *
 * <p>Every value was read from the DWARF of the pyenv builds 2.7.18, 3.6.15, 3.7.16, 3.8.18, 3.9.18,
 * 3.10.13, 3.11.7 and 3.12.1. The test suite re-checks each against gdb on that DWARF, against the C
 * compiler on each interpreter's installed headers (which also covers Debian's 3.11.2), and against
 * what each running interpreter reads of itself through {@code ctypes}.
 */
public final class Layouts {

    private static final Logger LOG = LoggerFactory.getLogger(Layouts.class);

    private static final Layout V2_7 = v27();
    private static final Layout V3_6 = v36();
    private static final Layout V3_7 = v37();
    private static final Layout V3_7_0_TO_3 = v37before4(V3_7);
    private static final Layout V3_8 = v38();
    private static final Layout V3_9 = v39();
    private static final Layout V3_10 = v310();
    private static final Layout V3_11 = v311();
    private static final Layout V3_12 = v312();

    private Layouts() {
    }

    /**
     * The built-in layout for {@code version}.
     *
     * <p>When the micro version is unknown (-1, e.g. taken from a file name), the layout of the newest
     * patch release of that minor series is returned and a warning is logged: only 3.7.0 – 3.7.3
     * differ from the rest of their series.
     *
     * @param version the target's version
     * @return the layout; never {@code null}
     * @throws UnsupportedLayoutException for 3.5 and older, 3.13 and newer (use
     *         {@link DebugOffsets}), free-threaded builds, and alpha/beta releases (their structs were
     *         still changing; py-spy records four different {@code _PyRuntime} layouts among
     *         3.8.0a1 – 3.8.0 final)
     */
    public static Layout forVersion(PythonVersion version) throws UnsupportedLayoutException {
        Objects.requireNonNull(version, "version");
        if (version.isAtLeast(3, 13)) {
            throw new UnsupportedLayoutException(version,
                    "3.13 and later have no built-in table; read the target's _Py_DebugOffsets (DebugOffsets.parse)");
        }
        if (version.freeThreaded()) {
            throw new UnsupportedLayoutException(version, "free-threaded builds exist only from 3.13");
        }
        if (version.releaseLevel() == PythonVersion.ReleaseLevel.ALPHA
                || version.releaseLevel() == PythonVersion.ReleaseLevel.BETA) {
            throw new UnsupportedLayoutException(version,
                    "alpha and beta releases have no table (struct layouts change between pre-releases)");
        }
        Layout layout = switch (version.major() * 100 + version.minor()) {
            case 207 -> V2_7;
            case 306 -> V3_6;
            case 307 -> version.micro() >= 0 && version.micro() <= 3 ? V3_7_0_TO_3 : V3_7;
            case 308 -> V3_8;
            case 309 -> V3_9;
            case 310 -> V3_10;
            case 311 -> V3_11;
            case 312 -> V3_12;
            default -> throw new UnsupportedLayoutException(version, "no layout table for this version");
        };
        if (version.micro() < 0) {
            LOG.warn("CPython {}: micro version unknown, using {}", version, layout.source());
        }
        return ObjectModel.addTo(layout.toBuilder(version, layout.source()), version).build();
    }

    // 2.7 has no _PyRuntime: the reader starts from interp_head (a .symtab symbol) or
    // _PyThreadState_Current. PyStringObject is bytes; unicode is UCS4 Py_UNICODE* in pyenv builds
    // (sys.maxunicode 1114111; a --enable-unicode=ucs2 build would need 2-byte units).
    private static Layout v27() {
        Layout.Builder b = Layout.builder(PythonVersion.of(2, 7, 18), "built-in table 2.7");
        b.set(INTERP_NEXT, 0).set(INTERP_TSTATE_HEAD, 8).set(INTERP_MODULES, 16).set(TSTATE_NEXT, 0)
                .set(TSTATE_INTERP, 8).set(TSTATE_FRAME, 16).set(TSTATE_THREAD_ID, 144).set(FRAME_BACK, 24)
                .set(FRAME_CODE, 32).set(FRAME_LASTI, 120).set(FRAME_LINENO, 124).set(SIZEOF_FRAME, 384)
                .set(CODE_NAME, 88).set(CODE_FILENAME, 80).set(CODE_FIRSTLINENO, 96).set(CODE_LINETABLE, 104)
                .set(CODE_CODE, 32).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 28).set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8)
                .set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168).set(BYTES_DATA, 36)
                .set(UNICODE27_LENGTH, 16).set(UNICODE27_STR, 24).set(SIZEOF_INTERP, 80).set(SIZEOF_TSTATE, 168)
                .set(SIZEOF_CODE, 128);
        return b.set(CONST_LASTI_MULTIPLIER, 1).set(CONST_UNICODE27_UNIT_SIZE, 4).build();
    }

    // 3.6 has no _PyRuntime either; interp_head is a .symtab symbol, _PyThreadState_Current exported.
    private static Layout v36() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 6, 15), "built-in table 3.6");
        b.set(INTERP_NEXT, 0).set(INTERP_TSTATE_HEAD, 8).set(INTERP_MODULES, 16).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_FRAME, 24).set(TSTATE_THREAD_ID, 152)
                .set(FRAME_BACK, 24).set(FRAME_CODE, 32).set(FRAME_LASTI, 120).set(FRAME_LINENO, 124)
                .set(SIZEOF_FRAME, 384).set(CODE_NAME, 104).set(CODE_FILENAME, 96).set(CODE_FIRSTLINENO, 36)
                .set(CODE_LINETABLE, 112).set(CODE_CODE, 40).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 32)
                .set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8).set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168)
                .set(BYTES_DATA, 32).set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 120)
                .set(SIZEOF_TSTATE, 2272).set(SIZEOF_CODE, 144);
        return b.set(CONST_CODEUNIT_SIZE, 2).set(CONST_LASTI_MULTIPLIER, 1).build();
    }

    private static Layout v37() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 7, 16), "built-in table 3.7.4+");
        b.set(RUNTIME_FINALIZING, 8).set(RUNTIME_INTERPRETERS_HEAD, 24).set(RUNTIME_INTERPRETERS_MAIN, 32).set(RUNTIME_TSTATE_CURRENT, 1480)
                .set(RUNTIME_GIL_LAST_HOLDER, 1272).set(RUNTIME_GIL_LOCKED, 1280).set(RUNTIME_GC_COLLECTING, 632)
                .set(GIL_LAST_HOLDER, 8).set(GIL_LOCKED, 16).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 8).set(INTERP_ID, 16).set(INTERP_MODULES, 40).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_FRAME, 24).set(TSTATE_THREAD_ID, 176)
                .set(FRAME_BACK, 24).set(FRAME_CODE, 32).set(FRAME_LASTI, 104).set(FRAME_LINENO, 108)
                .set(SIZEOF_FRAME, 368).set(CODE_NAME, 104).set(CODE_FILENAME, 96).set(CODE_FIRSTLINENO, 36)
                .set(CODE_LINETABLE, 112).set(CODE_CODE, 40).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 32)
                .set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8).set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168)
                .set(BYTES_DATA, 32).set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 2568)
                .set(SIZEOF_TSTATE, 280).set(SIZEOF_CODE, 144);
        return b.set(CONST_CODEUNIT_SIZE, 2).set(CONST_LASTI_MULTIPLIER, 1).build();
    }

    // 3.7.4 made PyGC_Head's alignment dummy a long double (bpo-27987, GH-13335/GH-13581): PyGC_Head grew
    // from 24 to 32 bytes, 16-aligned, so _PyRuntime.gc grew by 80 bytes plus 8 of padding before it.
    // Everything after _PyRuntime.gc moved by 88 bytes; interpreters.head/main (before gc) did not.
    // py-spy records the same: gilstate.tstate_current at 1392 for 3.7.0 - 3.7.3, 1480 from 3.7.4.
    private static Layout v37before4(Layout v374) {
        return v374.toBuilder(PythonVersion.of(3, 7, 3), "built-in table 3.7.0-3.7.3")
                .set(RUNTIME_TSTATE_CURRENT, 1480 - 88)
                .set(RUNTIME_GIL_LAST_HOLDER, 1272 - 88)
                .set(RUNTIME_GIL_LOCKED, 1280 - 88)
                // gc.collecting sits behind the grown generations too (LayoutHeaderOracleTest: 544).
                .set(RUNTIME_GC_COLLECTING, 632 - 88)
                .build();
    }

    private static Layout v38() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 8, 18), "built-in table 3.8");
        b.set(RUNTIME_FINALIZING, 16).set(RUNTIME_INTERPRETERS_HEAD, 32).set(RUNTIME_INTERPRETERS_MAIN, 40).set(RUNTIME_TSTATE_CURRENT, 1368)
                .set(RUNTIME_GIL_LAST_HOLDER, 1160).set(RUNTIME_GIL_LOCKED, 1168).set(RUNTIME_GC_COLLECTING, 544)
                .set(GIL_LAST_HOLDER, 8).set(GIL_LOCKED, 16).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 8).set(INTERP_ID, 16).set(INTERP_MODULES, 56).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_FRAME, 24).set(TSTATE_THREAD_ID, 176)
                .set(FRAME_BACK, 24).set(FRAME_CODE, 32).set(FRAME_LASTI, 104).set(FRAME_LINENO, 108)
                .set(SIZEOF_FRAME, 368).set(CODE_NAME, 112).set(CODE_FILENAME, 104).set(CODE_FIRSTLINENO, 40)
                .set(CODE_LINETABLE, 120).set(CODE_CODE, 48).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 36)
                .set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8).set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168)
                .set(BYTES_DATA, 32).set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 2720)
                .set(SIZEOF_TSTATE, 264).set(SIZEOF_CODE, 176)
                .set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40); // PySetObject, for asyncio tasks
        return b.set(CONST_CODEUNIT_SIZE, 2).set(CONST_LASTI_MULTIPLIER, 1).build();
    }

    private static Layout v39() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 9, 18), "built-in table 3.9");
        b.set(RUNTIME_FINALIZING, 16).set(RUNTIME_INTERPRETERS_HEAD, 32).set(RUNTIME_INTERPRETERS_MAIN, 40).set(RUNTIME_TSTATE_CURRENT, 568)
                .set(RUNTIME_GIL_LAST_HOLDER, 360).set(RUNTIME_GIL_LOCKED, 368)
                .set(GIL_LAST_HOLDER, 8).set(GIL_LOCKED, 16).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 8).set(INTERP_ID, 24).set(INTERP_MODULES, 856).set(INTERP_GC_COLLECTING, 816).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_FRAME, 24).set(TSTATE_THREAD_ID, 176)
                .set(FRAME_BACK, 24).set(FRAME_CODE, 32).set(FRAME_LASTI, 104).set(FRAME_LINENO, 108)
                .set(SIZEOF_FRAME, 368).set(CODE_NAME, 112).set(CODE_FILENAME, 104).set(CODE_FIRSTLINENO, 40)
                .set(CODE_LINETABLE, 120).set(CODE_CODE, 48).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 36)
                .set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8).set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168)
                .set(BYTES_DATA, 32).set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 5656)
                .set(SIZEOF_TSTATE, 264).set(SIZEOF_CODE, 176)
                .set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40); // PySetObject, for asyncio tasks
        return b.set(CONST_CODEUNIT_SIZE, 2).set(CONST_LASTI_MULTIPLIER, 1).build();
    }

    // 3.10 has a tstate->cframe too, but it only carries use_tracing: frames are still tstate->frame,
    // so TSTATE_CFRAME stays absent. f_lasti counts code units (PEP 626).
    private static Layout v310() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 10, 13), "built-in table 3.10");
        b.set(RUNTIME_FINALIZING, 16).set(RUNTIME_INTERPRETERS_HEAD, 32).set(RUNTIME_INTERPRETERS_MAIN, 40).set(RUNTIME_TSTATE_CURRENT, 568)
                .set(RUNTIME_GIL_LAST_HOLDER, 360).set(RUNTIME_GIL_LOCKED, 368)
                .set(GIL_LAST_HOLDER, 8).set(GIL_LOCKED, 16).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 8).set(INTERP_ID, 24).set(INTERP_MODULES, 856).set(INTERP_GC_COLLECTING, 816).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_FRAME, 24).set(TSTATE_THREAD_ID, 176)
                .set(FRAME_BACK, 24).set(FRAME_CODE, 32).set(FRAME_LASTI, 96).set(FRAME_LINENO, 100)
                .set(SIZEOF_FRAME, 360).set(CODE_NAME, 112).set(CODE_FILENAME, 104).set(CODE_FIRSTLINENO, 40)
                .set(CODE_LINETABLE, 120).set(CODE_CODE, 48).set(CODE_ARGCOUNT, 16).set(CODE_FLAGS, 36)
                .set(OBJECT_REFCNT, 0).set(OBJECT_TYPE, 8).set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168)
                .set(BYTES_DATA, 32).set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 113528)
                .set(SIZEOF_TSTATE, 280).set(SIZEOF_CODE, 176)
                .set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40); // PySetObject, for asyncio tasks
        return b.set(CONST_CODEUNIT_SIZE, 2).set(CONST_LASTI_MULTIPLIER, 2).build();
    }

    // 3.11: enum _frameowner ends at FRAME_OWNED_BY_FRAME_OBJECT = 2, so no owner >= 3 is a Python
    // frame; there is no FRAME_OWNED_BY_CSTACK (entry frames are marked by is_entry instead).
    private static Layout v311() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 11, 7), "built-in table 3.11");
        b.set(RUNTIME_FINALIZING, 24).set(RUNTIME_INTERPRETERS_HEAD, 40).set(RUNTIME_INTERPRETERS_MAIN, 48).set(RUNTIME_TSTATE_CURRENT, 576)
                .set(RUNTIME_GIL_LAST_HOLDER, 368).set(RUNTIME_GIL_LOCKED, 376)
                .set(GIL_LAST_HOLDER, 8).set(GIL_LOCKED, 16).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 16).set(INTERP_ID, 48).set(INTERP_MODULES, 888).set(INTERP_GC_COLLECTING, 848).set(TSTATE_PREV, 0)
                .set(TSTATE_NEXT, 8).set(TSTATE_INTERP, 16).set(TSTATE_CFRAME, 56).set(TSTATE_THREAD_ID, 152)
                .set(TSTATE_NATIVE_THREAD_ID, 160).set(TSTATE_DATASTACK_CHUNK, 296).set(TSTATE_DATASTACK_TOP, 304)
                .set(TSTATE_DATASTACK_LIMIT, 312).set(CFRAME_CURRENT_FRAME, 8).set(CHUNK_PREVIOUS, 0)
                .set(CHUNK_SIZE, 8).set(CHUNK_TOP, 16).set(CHUNK_DATA, 24).set(IFRAME_PREVIOUS, 48)
                .set(IFRAME_EXECUTABLE, 32).set(IFRAME_INSTR_PTR, 56).set(IFRAME_OWNER, 69).set(IFRAME_IS_ENTRY, 68)
                .set(IFRAME_STACKTOP, 64).set(IFRAME_LOCALSPLUS, 72).set(SIZEOF_IFRAME, 80).set(CODE_NAME, 120)
                .set(CODE_QUALNAME, 128).set(CODE_FILENAME, 112).set(CODE_FIRSTLINENO, 72).set(CODE_LINETABLE, 136)
                .set(CODE_CODE_ADAPTIVE, 184).set(CODE_ARGCOUNT, 56).set(CODE_FLAGS, 48).set(OBJECT_TYPE, 8)
                .set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168).set(BYTES_DATA, 32)
                .set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 48)
                .set(UNICODE_COMPACT_DATA, 72).set(UNICODE_DATA_PTR, 72).set(SIZEOF_INTERP, 107752)
                .set(SIZEOF_TSTATE, 360).set(SIZEOF_CODE, 192);
        // asyncio task stacks (3.11+): PyGenObject keeps its frame inline (gi_iframe) after the 3.11
        // header {weakreflist, name, qualname, exc_state, origin_or_finalizer, hooks_inited, closed,
        // running_async, frame_state} that still starts with gi_code; PySetObject {fill, used, mask, table}.
        b.set(GEN_IFRAME, 80).set(GEN_FRAME_STATE, 75).set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40);
        return b.set(CONST_FRAME_OWNER_FIRST_NON_PYTHON, 3).set(CONST_STACKREF_TAG_MASK, 0)
                .set(CONST_CODEUNIT_SIZE, 2).build();
    }

    // 3.12: tstate_current left _PyRuntime (it is a thread-local now) and the GIL moved to
    // interp->ceval.gil; shim frames are FRAME_OWNED_BY_CSTACK = 3.
    private static Layout v312() {
        Layout.Builder b = Layout.builder(PythonVersion.of(3, 12, 1), "built-in table 3.12");
        b.set(RUNTIME_FINALIZING, 24).set(RUNTIME_INTERPRETERS_HEAD, 40).set(RUNTIME_INTERPRETERS_MAIN, 48).set(INTERP_NEXT, 0)
                .set(INTERP_TSTATE_HEAD, 72).set(INTERP_ID, 8).set(INTERP_GIL_PTR, 384).set(GIL_LAST_HOLDER, 8)
                .set(GIL_LOCKED, 16).set(INTERP_MODULES, 944).set(INTERP_GC_COLLECTING, 312).set(TSTATE_PREV, 0).set(TSTATE_NEXT, 8)
                .set(TSTATE_INTERP, 16).set(TSTATE_CFRAME, 56).set(TSTATE_THREAD_ID, 136)
                .set(TSTATE_NATIVE_THREAD_ID, 144).set(TSTATE_DATASTACK_CHUNK, 232).set(TSTATE_DATASTACK_TOP, 240)
                .set(TSTATE_DATASTACK_LIMIT, 248).set(CFRAME_CURRENT_FRAME, 0).set(CHUNK_PREVIOUS, 0)
                .set(CHUNK_SIZE, 8).set(CHUNK_TOP, 16).set(CHUNK_DATA, 24).set(IFRAME_PREVIOUS, 8)
                .set(IFRAME_EXECUTABLE, 0).set(IFRAME_INSTR_PTR, 56).set(IFRAME_OWNER, 70).set(IFRAME_STACKTOP, 64)
                .set(IFRAME_LOCALSPLUS, 72).set(SIZEOF_IFRAME, 80).set(CODE_NAME, 120).set(CODE_QUALNAME, 128)
                .set(CODE_FILENAME, 112).set(CODE_FIRSTLINENO, 68).set(CODE_LINETABLE, 136)
                .set(CODE_CODE_ADAPTIVE, 192).set(CODE_ARGCOUNT, 52).set(CODE_FLAGS, 48).set(OBJECT_TYPE, 8)
                .set(VAROBJECT_SIZE, 16).set(TYPE_NAME, 24).set(TYPE_FLAGS, 168).set(BYTES_DATA, 32)
                .set(UNICODE_LENGTH, 16).set(UNICODE_STATE, 32).set(UNICODE_ASCII_DATA, 40)
                .set(UNICODE_COMPACT_DATA, 56).set(UNICODE_DATA_PTR, 56).set(SIZEOF_INTERP, 383552)
                .set(SIZEOF_TSTATE, 288).set(SIZEOF_CODE, 200);
        // asyncio task stacks: 3.12 dropped gi_code from the generator header (so gi_iframe moved up by
        // 8), and made ints {lv_tag, ob_digit[]} (an unnamed task's name is its counter, an int).
        b.set(GEN_IFRAME, 72).set(GEN_FRAME_STATE, 67).set(SET_USED, 24).set(SET_MASK, 32).set(SET_TABLE, 40)
                .set(LONG_TAG, 16).set(LONG_DIGITS, 24);
        return b.set(CONST_FRAME_OWNED_BY_CSTACK, 3).set(CONST_FRAME_OWNER_FIRST_NON_PYTHON, 3)
                .set(CONST_STACKREF_TAG_MASK, 0).set(CONST_CODEUNIT_SIZE, 2).build();
    }
}
