package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Unit tests over synthetic tables whose values are those of real builds: pyenv 3.13.0 (as gdb prints
 * {@code _PyRuntime.debug_offsets}), Debian's 3.14.10 and 3.15.2 ({@code .PyRuntime} on disk). The tables of
 * the real binaries are parsed in {@link LayoutGdbOracleTest#debugOffsetsOnDiskParse}.
 */
class DebugOffsetsTest {

    static final long[] V3_13_0 = {
        283320, 608, 632,
        194968, 7272, 7264, 7344, 7400, 7656, 7640, 7648, 16, 7752, 0, 7768, 7760,
        304, 0, 8, 16, 72, 152, 160, 232, 32,
        80, 8, 0, 56, 72, 70,
        208, 112, 120, 128, 136, 68, 52, 96, 104, 200,
        16, 8,
        416, 24, 88, 168,
        32, 24, 16,
        40, 24, 16,
        48, 32, 40,
        24, 16,
        32, 16, 24,
        40, 16, 32,
        64, 32, 16, 40,
        240, 200};

    static final long[] V3_14_10 = {
        316616, 784, 808,
        225864, 7280, 7272, 7344, 7360, 7408, 7688, 7672, 7680, 16, 7784, 0, 7800, 7792, 7992, 0,
        832, 0, 8, 16, 72, 152, 160, 232, 32,
        88, 8, 0, 56, 80, 74, 64, 0,
        216, 112, 120, 128, 136, 68, 52, 96, 104, 208, 0,
        16, 8,
        416, 24, 88, 168,
        40, 32, 16,
        40, 24, 16,
        200, 24, 40, 32,
        48, 32, 40,
        24, 16,
        32, 16, 24,
        40, 16, 32,
        64, 32, 16, 40,
        264, 192,
        160, 24, 72, 67,
        0, 8,
        24, 304, 8076, 0, 4, 512};

    static final long[] V3_15_2 = {
        346568, 912, 936,
        226240, 7272, 7264, 7336, 7352, 7400, 7592, 7576, 7584, 16, 7736, 0, 7752, 7744, 7944, 0,
        888, 0, 8, 16, 72, 80, 88, 96, 176, 184, 256, 32, 36, 40, 136, 288,
        0,
        88, 8, 0, 56, 80, 74, 64, 0,
        216, 112, 120, 128, 136, 68, 52, 96, 104, 208, 0,
        16, 8,
        424, 24, 88, 168, 32, 288,
        944, 888,
        40, 32, 16,
        40, 24, 16,
        200, 24, 40, 32,
        48, 32, 40,
        24, 16,
        32, 16, 24,
        40, 16, 32,
        64, 32, 16, 40, 56,
        176, 112, 120, 1120, 104,
        160, 24, 72, 67,
        0, 8,
        24, 344, 8028, 0, 4, 512};

    static MemorySegment table(String cookie, long hex, long freeThreaded, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(DebugOffsets.BYTES_TO_READ).order(ByteOrder.LITTLE_ENDIAN);
        b.put(cookie.getBytes(StandardCharsets.ISO_8859_1), 0, 8);
        b.putLong(hex).putLong(freeThreaded);
        for (long v : values) {
            b.putLong(v);
        }
        return MemorySegment.ofArray(b.array());
    }

    @Test
    void tableSizesMatchTheCStructs() {
        // sizeof(struct _Py_DebugOffsets) in pyenv 3.13.0's DWARF is 584; the 3.14 table holds 92 values.
        assertThat(DebugOffsets.tableSize(PythonVersion.of(3, 13, 0))).isEqualTo(584);
        assertThat(DebugOffsets.tableSize(PythonVersion.of(3, 14, 0))).isEqualTo(24 + 8 * V3_14_10.length);
        assertThat(V3_13_0).hasSize(70);
        // 3.15.2's table on disk: the last non-zero value (debugger_script_path_size) ends at 888.
        assertThat(DebugOffsets.tableSize(PythonVersion.of(3, 15, 2))).isEqualTo(888).isEqualTo(24 + 8 * V3_15_2.length);
        assertThat(DebugOffsets.BYTES_TO_READ).isGreaterThanOrEqualTo(DebugOffsets.tableSize(PythonVersion.of(3, 15, 0)));
    }

    @Test
    void builds313Layout() throws Exception {
        Layout l = DebugOffsets.parse(table("xdebugpy", 0x030D00F0L, 0, V3_13_0), PythonVersion.of(3, 13, 0));
        assertThat(l.version()).isEqualTo(PythonVersion.of(3, 13, 0));
        assertThat(l.source()).isEqualTo("_Py_DebugOffsets 3.13.0");
        assertThat(l.offset(Field.RUNTIME_INTERPRETERS_HEAD)).isEqualTo(632);
        assertThat(l.offset(Field.RUNTIME_INTERPRETERS_MAIN)).isEqualTo(640);
        assertThat(l.offset(Field.INTERP_TSTATE_HEAD)).isEqualTo(7344);
        assertThat(l.offset(Field.INTERP_THREADS_MAIN)).isEqualTo(7352);
        assertThat(l.offset(Field.GIL_LAST_HOLDER)).isEqualTo(8);
        assertThat(l.offset(Field.GIL_LOCKED)).isEqualTo(16);
        assertThat(l.offset(Field.TSTATE_CURRENT_FRAME)).isEqualTo(72);
        assertThat(l.offset(Field.TSTATE_DATASTACK_LIMIT)).isEqualTo(248);
        assertThat(l.offset(Field.IFRAME_STACKTOP)).isEqualTo(64);
        assertThat(l.has(Field.IFRAME_STACKPOINTER)).isFalse();
        assertThat(l.offset(Field.CODE_FLAGS)).isEqualTo(48);
        assertThat(l.offset(Field.UNICODE_COMPACT_DATA)).isEqualTo(56);
        assertThat(l.offset(Field.CONST_FRAME_OWNED_BY_CSTACK)).isEqualTo(3);
        assertThat(l.offset(Field.CONST_STACKREF_TAG_MASK)).isZero();
        assertThat(l.has(Field.TSTATE_CFRAME)).isFalse();
        assertThat(l.has(Field.RUNTIME_TSTATE_CURRENT)).isFalse();
    }

    @Test
    void builds314Layout() throws Exception {
        Layout l = DebugOffsets.parse(table("xdebugpy", 0x030E0AF0L, 0, V3_14_10), PythonVersion.of(3, 14, 10));
        assertThat(l.offset(Field.INTERP_THREADS_MAIN)).isEqualTo(7360);
        assertThat(l.offset(Field.INTERP_MODULES)).isEqualTo(7688);
        assertThat(l.offset(Field.INTERP_CODE_OBJECT_GENERATION)).isEqualTo(7992);
        assertThat(l.offset(Field.IFRAME_STACKPOINTER)).isEqualTo(64);
        assertThat(l.offset(Field.IFRAME_OWNER)).isEqualTo(74);
        assertThat(l.has(Field.IFRAME_STACKTOP)).isFalse();
        assertThat(l.has(Field.IFRAME_TLBC_INDEX)).isFalse();
        assertThat(l.has(Field.CODE_TLBC)).isFalse();
        assertThat(l.offset(Field.SIZEOF_TSTATE)).isEqualTo(832);
        assertThat(l.offset(Field.CONST_FRAME_OWNED_BY_CSTACK)).isEqualTo(4);
        assertThat(l.offset(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)).isEqualTo(3);
        assertThat(l.offset(Field.CONST_STACKREF_TAG_MASK)).isEqualTo(3);
    }

    @Test
    void buildsFreeThreaded314Layout() throws Exception {
        long[] ft = V3_14_10.clone();
        // Free-threaded PyObject: ob_tid, flags/mutex/gc_bits/ref_local, ob_ref_shared, ob_type = 32 bytes.
        set(ft, "tlbc_index", 35, 84);
        set(ft, "code.size", 36, 224);
        set(ft, "co_tlbc", 46, 216);
        set(ft, "pyobject.size", 47, 32);
        set(ft, "pyobject.ob_type", 48, 24);
        set(ft, "tp_name", 50, 40);
        set(ft, "tuple.ob_size", 55, 32);
        set(ft, "list.ob_size", 58, 32);
        set(ft, "bytes.size", 71, 56);
        set(ft, "bytes.ob_size", 72, 32);
        set(ft, "bytes.ob_sval", 73, 48);
        set(ft, "unicode.size", 74, 80);
        set(ft, "unicode.length", 76, 32);
        set(ft, "unicode.asciiobject_size", 77, 56);
        Layout l = DebugOffsets.parse(table("xdebugpy", 0x030E00F0L, 1, ft), PythonVersion.of(3, 14, 0));
        assertThat(l.version().freeThreaded()).isTrue();
        assertThat(l.offset(Field.OBJECT_TYPE)).isEqualTo(24);
        assertThat(l.offset(Field.IFRAME_TLBC_INDEX)).isEqualTo(84);
        assertThat(l.offset(Field.CODE_TLBC)).isEqualTo(216);
        assertThat(l.offset(Field.UNICODE_DATA_PTR)).isEqualTo(72);
    }

    private static void set(long[] values, String what, int index, long value) {
        values[index] = value;
    }

    @Test
    void builds315Layout() throws Exception {
        Layout l = DebugOffsets.parse(table("xdebugpy", 0x030F02F0L, 0, V3_15_2), PythonVersion.of(3, 15, 2));
        assertThat(l.source()).isEqualTo("_Py_DebugOffsets 3.15.2");
        assertThat(l.offset(Field.TSTATE_CURRENT_FRAME)).isEqualTo(72);
        // Values after the three new pointers behind current_frame come from their own slots.
        assertThat(l.offset(Field.TSTATE_THREAD_ID)).isEqualTo(176);
        assertThat(l.offset(Field.TSTATE_NATIVE_THREAD_ID)).isEqualTo(184);
        assertThat(l.offset(Field.TSTATE_DATASTACK_CHUNK)).isEqualTo(256);
        assertThat(l.offset(Field.SIZEOF_TSTATE)).isEqualTo(888);
        // After the new err_stackitem group: the frame and code groups are read in place.
        assertThat(l.offset(Field.SIZEOF_IFRAME)).isEqualTo(88);
        assertThat(l.offset(Field.IFRAME_OWNER)).isEqualTo(74);
        assertThat(l.offset(Field.IFRAME_STACKPOINTER)).isEqualTo(64);
        assertThat(l.offset(Field.CODE_CODE_ADAPTIVE)).isEqualTo(208);
        assertThat(l.offset(Field.TYPE_FLAGS)).isEqualTo(168);
        assertThat(l.offset(Field.TYPE_BASICSIZE)).isEqualTo(32);
        assertThat(l.offset(Field.TYPE_DICTOFFSET)).isEqualTo(288);
        // PyHeapTypeObject.ht_cached_keys moved from 880 (3.11 - 3.14) to 888; the table says so.
        assertThat(l.offset(Field.HEAPTYPE_CACHED_KEYS)).isEqualTo(888);
        assertThat(l.offset(Field.UNICODE_COMPACT_DATA)).isEqualTo(56);
        assertThat(l.has(Field.CONST_FRAME_OWNED_BY_CSTACK)).isFalse();
        assertThat(l.offset(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)).isEqualTo(3);
        assertThat(l.offset(Field.CONST_STACKREF_TAG_MASK)).isEqualTo(3);
    }

    @Test
    void refusesA315TableReadInThe314Format() {
        // A 3.14 header over 3.15 values: thread_state.thread_id would read base_frame's 80, and so on.
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030E0AF0L, 0, V3_15_2), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("table format");
    }

    @Test
    void acceptsAFutureVersionInThe315FormatWithAWarning() throws Exception {
        Layout l = DebugOffsets.parse(table("xdebugpy", 0x031000F0L, 0, V3_15_2), null);
        assertThat(l.version()).isEqualTo(PythonVersion.of(3, 16, 0));
        assertThat(l.offset(Field.TSTATE_THREAD_ID)).isEqualTo(176);
        assertThat(l.offset(Field.HEAPTYPE_CACHED_KEYS)).isEqualTo(888);
        assertThat(l.offset(Field.CONST_FRAME_OWNER_FIRST_NON_PYTHON)).isEqualTo(3);
    }

    @Test
    void refusesAFutureFormatThatShiftedTheTable() {
        // As 3.15.0b4 did to 3.15.0b3 (last_profiled_frame_seq): a value inserted into thread_state
        // moves every later one.
        long[] shifted = new long[V3_15_2.length + 1];
        System.arraycopy(V3_15_2, 0, shifted, 0, 26);
        shifted[26] = 104;
        System.arraycopy(V3_15_2, 26, shifted, 27, V3_15_2.length - 26);
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x031000A1L, 0, shifted), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("3.16.0a1")
                .hasMessageContaining("table format");
        // The 3.14 format shifted the same way is refused too.
        long[] shifted314 = new long[V3_14_10.length + 2];
        System.arraycopy(V3_14_10, 0, shifted314, 0, 24);
        shifted314[24] = 80;
        shifted314[25] = 88;
        System.arraycopy(V3_14_10, 24, shifted314, 26, V3_14_10.length - 24);
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x031000A1L, 0, shifted314), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("table format");
    }

    @Test
    void refusesAWrongCookie() {
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpz", 0x030D00F0L, 0, V3_13_0), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("cookie is \"xdebugpz\"");
        MemorySegment zeros = MemorySegment.ofArray(new byte[1024]);
        assertThatThrownBy(() -> DebugOffsets.parse(zeros, null)).isInstanceOf(InvalidDebugOffsetsException.class)
                .hasMessageContaining("\\x00");
    }

    @Test
    void refusesAVersionOtherThanTheDetectedOne() {
        MemorySegment t = table("xdebugpy", 0x030D00F0L, 0, V3_13_0);
        assertThatThrownBy(() -> DebugOffsets.parse(t, PythonVersion.of(3, 14, 0)))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("3.13.0")
                .hasMessageContaining("detected as 3.14.0");
        assertThatThrownBy(() -> DebugOffsets.parse(t, PythonVersion.of(3, 13, 1)))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("detected as 3.13.1");
    }

    @Test
    void acceptsTheDetectedMinorWhenTheMicroIsUnknown() throws Exception {
        MemorySegment t = table("xdebugpy", 0x030D05F0L, 0, V3_13_0);
        Layout l = DebugOffsets.parse(t, PythonVersion.fromFileName("python3.13").orElseThrow());
        assertThat(l.version()).isEqualTo(PythonVersion.of(3, 13, 5));
    }

    @Test
    void refusesTablesClaimingOldVersions() {
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030C01F0L, 0, V3_13_0), null))
                .isInstanceOf(UnsupportedLayoutException.class).hasMessageContaining("3.12.1");
    }

    @Test
    void refusesGarbageHeaders() {
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030D00F0L, 7, V3_13_0), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("free_threaded is 7");
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x7fff_0000_030D00F0L, 0, V3_13_0), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("not a PY_VERSION_HEX");
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030D0012L, 0, V3_13_0), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("not a PY_VERSION_HEX");
    }

    @Test
    void refusesGarbageSizesAndOffsetsNamingTheField() {
        long[] zeroSize = V3_13_0.clone();
        zeroSize[16] = 0;
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030D00F0L, 0, zeroSize), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("thread_state.size = 0");
        long[] huge = V3_13_0.clone();
        huge[25] = -1;
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030D00F0L, 0, huge), null))
                .isInstanceOf(InvalidDebugOffsetsException.class)
                .hasMessageContaining("interpreter_frame.size = 18446744073709551615");
        long[] outside = V3_13_0.clone();
        outside[20] = 304;
        assertThatThrownBy(() -> DebugOffsets.parse(table("xdebugpy", 0x030D00F0L, 0, outside), null))
                .isInstanceOf(InvalidDebugOffsetsException.class)
                .hasMessageContaining("thread_state.current_frame = 304, must be below thread_state.size = 304");
    }

    @Test
    void refusesTooFewBytes() {
        MemorySegment t = table("xdebugpy", 0x030D00F0L, 0, V3_13_0).asSlice(0, 500);
        assertThatThrownBy(() -> DebugOffsets.parse(t, null)).isInstanceOf(InvalidDebugOffsetsException.class)
                .hasMessageContaining("needs 584 bytes, got 500");
        assertThatThrownBy(() -> DebugOffsets.parse(t.asSlice(0, 10), null))
                .isInstanceOf(InvalidDebugOffsetsException.class).hasMessageContaining("got 10");
    }

    @Test
    void randomCorruptionEndsInALayoutOrACheckedException() {
        Random random = new Random(20261121);
        byte[] good = table("xdebugpy", 0x030E0AF0L, 0, V3_14_10).toArray(ValueLayout.JAVA_BYTE);
        int accepted = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] bad = Arrays.copyOf(good, good.length);
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                bad[random.nextInt(DebugOffsets.tableSize(PythonVersion.of(3, 14, 0)))] = (byte) random.nextInt(256);
            }
            try {
                DebugOffsets.parse(MemorySegment.ofArray(bad), null);
                accepted++;
            } catch (InvalidDebugOffsetsException | UnsupportedLayoutException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
        // Many single-byte changes leave a plausible table (an offset moved within its struct); most do not.
        assertThat(accepted).isBetween(1, 4999);
    }
}
