package dev.spyglass.cpython.abi;

import static dev.spyglass.cpython.abi.Field.*;

/**
 * Offsets of modules, type objects and dicts, which {@code _Py_DebugOffsets} does not carry (3.13, 3.14
 * have no {@code dict_object} group): the same static values go into built-in tables and into layouts
 * built from a target's debug offsets. Checked against DWARF (gdb oracle) for pyenv 2.7, 3.6 – 3.13
 * and by self-inspection (ctypes) for every interpreter on the machine.
 *
 * <p>Facts: {@code PyModuleObject.md_dict} follows {@code PyObject_HEAD} in every version;
 * {@code PyTypeObject.tp_basicsize} / {@code tp_dictoffset} are at 32 / 288 from 2.7 to 3.14 (the
 * members before them never changed size); {@code PyHeapTypeObject.ht_cached_keys} moved with the
 * size of {@code PyTypeObject} (408 bytes in 3.11, 416 from 3.12: {@code tp_watched},
 * {@code tp_versions_used}) plus the five method suites and three object pointers (464 bytes).
 * {@code PyDictObject} has been {@code {HEAD, ma_used, ma_version_tag (3.13+ _ma_watcher_tag), ma_keys,
 * ma_values}} since 3.6; 2.7's is {@code {HEAD, ma_fill, ma_used, ma_mask, ma_table, ma_lookup,
 * ma_smalltable[8]}}. {@code PyDictKeysObject}: 3.6 – 3.10 {@code {dk_refcnt, dk_size, dk_lookup,
 * dk_usable, dk_nentries, dk_indices[]}}; 3.11+ {@code {dk_refcnt, uint8 dk_log2_size,
 * dk_log2_index_bytes, dk_kind, uint32 dk_version, dk_usable, dk_nentries, dk_indices[]}}.
 */
final class ObjectModel {
    private ObjectModel() {
    }

    /** Sets the module, type and dict fields for {@code version} (a default, not free-threaded, build). */
    static Layout.Builder addTo(Layout.Builder b, PythonVersion version) {
        // Free-threaded builds (3.13t+) have a 32-byte PyObject header instead of 16 bytes: every field of a
        // PyObject-headed struct moves by 16; PyDictKeysObject and PyDictValues have no object header.
        long shift = version.freeThreaded() ? 16 : 0;
        if (shift != 0) {
            b.set(MODULE_DICT, 16 + shift).set(TYPE_BASICSIZE, 32 + shift).set(TYPE_DICTOFFSET, 288 + shift)
                    .set(DICT_USED, 16 + shift).set(DICT_KEYS, 32 + shift).set(DICT_VALUES, 40 + shift)
                    .set(DICTKEYS_LOG2_SIZE, 8).set(DICTKEYS_LOG2_INDEX_BYTES, 9).set(DICTKEYS_KIND, 10)
                    .set(DICTKEYS_NENTRIES, 24).set(DICTKEYS_INDICES, 32)
                    .set(HEAPTYPE_CACHED_KEYS, 880 + shift).set(DICTVALUES_VALUES, 8)
                    // No PyGC_Head before a free-threaded object: its managed dict pointer is the word
                    // right before it (checked by the self-inspection oracle on 3.13t and 3.14t).
                    .set(CONST_MANAGED_DICT_BEFORE, 8).set(CONST_TPFLAGS_MANAGED_DICT, 1 << 4)
                    .set(CONST_TPFLAGS_INLINE_VALUES, 1 << 2);
            return b;
        }
        b.set(MODULE_DICT, 16).set(TYPE_BASICSIZE, 32).set(TYPE_DICTOFFSET, 288);
        if (version.major() == 2) {
            return b.set(DICT_USED, 24).set(DICT27_MASK, 32).set(DICT27_TABLE, 40);
        }
        b.set(DICT_USED, 16).set(DICT_KEYS, 32).set(DICT_VALUES, 40);
        if (!version.isAtLeast(3, 11)) {
            return b.set(DICTKEYS_SIZE, 8).set(DICTKEYS_NENTRIES, 32).set(DICTKEYS_INDICES, 40)
                    .set(DICTVALUES_VALUES, 0);
        }
        b.set(DICTKEYS_LOG2_SIZE, 8).set(DICTKEYS_LOG2_INDEX_BYTES, 9).set(DICTKEYS_KIND, 10)
                .set(DICTKEYS_NENTRIES, 24).set(DICTKEYS_INDICES, 32);
        b.set(HEAPTYPE_CACHED_KEYS, version.is(3, 11) ? 872 : 880);
        b.set(DICTVALUES_VALUES, version.isAtLeast(3, 13) ? 8 : 0);
        b.set(CONST_MANAGED_DICT_BEFORE, 24).set(CONST_TPFLAGS_MANAGED_DICT, 1 << 4);
        if (version.is(3, 11)) {
            b.set(CONST_MANAGED_VALUES_BEFORE, 32);
        }
        if (version.isAtLeast(3, 13)) {
            b.set(CONST_TPFLAGS_INLINE_VALUES, 1 << 2);
        }
        return b;
    }
}
