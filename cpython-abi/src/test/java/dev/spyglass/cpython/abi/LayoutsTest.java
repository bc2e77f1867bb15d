package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LayoutsTest {

    @ParameterizedTest
    @ValueSource(strings = {"2.7.18", "3.6.15", "3.7.0", "3.7.3", "3.7.4", "3.7.16", "3.8.0", "3.8.18", "3.9.18",
            "3.10.13", "3.11.2", "3.11.7", "3.12.0", "3.12.1", "3.12.0rc2"})
    void hasATableFor(String text) throws Exception {
        PythonVersion v = PythonVersion.parse(text).orElseThrow();
        Layout layout = Layouts.forVersion(v);
        assertThat(layout.version()).isEqualTo(v);
        assertThat(layout.source()).startsWith("built-in table " + v.major() + "." + v.minor());
        assertThat(layout.has(Field.OBJECT_TYPE)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"2.6.9", "3.0.1", "3.5.10", "3.13.0", "3.13.0t", "3.14.0", "3.15.0", "3.12.0a1",
            "3.8.0b4", "3.12.1t"})
    void refuses(String text) {
        PythonVersion v = PythonVersion.parse(text).orElseThrow();
        assertThatThrownBy(() -> Layouts.forVersion(v)).isInstanceOf(UnsupportedLayoutException.class)
                .hasMessageContaining("CPython " + v).hasMessageContaining("supported: CPython 2.7 and 3.6 - 3.12")
                .satisfies(e -> assertThat(((UnsupportedLayoutException) e).version()).isEqualTo(v));
    }

    @Test
    void pointsNewVersionsAtDebugOffsets() {
        assertThatThrownBy(() -> Layouts.forVersion(PythonVersion.of(3, 13, 0)))
                .hasMessageContaining("_Py_DebugOffsets");
    }

    @Test
    void python37PatchesBefore4HaveTheSmallerGcState() throws Exception {
        Layout early = Layouts.forVersion(PythonVersion.of(3, 7, 2));
        Layout late = Layouts.forVersion(PythonVersion.of(3, 7, 4));
        Layout unknownMicro = Layouts.forVersion(PythonVersion.fromFileName("libpython3.7m.so.1.0").orElseThrow());
        assertThat(early.offset(Field.RUNTIME_TSTATE_CURRENT)).isEqualTo(1392);
        assertThat(late.offset(Field.RUNTIME_TSTATE_CURRENT)).isEqualTo(1480);
        assertThat(early.offset(Field.RUNTIME_GIL_LOCKED)).isEqualTo(1192);
        assertThat(late.offset(Field.RUNTIME_GIL_LOCKED)).isEqualTo(1280);
        assertThat(early.offset(Field.RUNTIME_INTERPRETERS_HEAD)).isEqualTo(late.offset(Field.RUNTIME_INTERPRETERS_HEAD));
        assertThat(unknownMicro.source()).isEqualTo(late.source());
    }

    @Test
    void versionsWithoutPyRuntimeStartFromInterpHead() throws Exception {
        for (String v : new String[] {"2.7.18", "3.6.15"}) {
            Layout l = Layouts.forVersion(PythonVersion.parse(v).orElseThrow());
            assertThat(l.has(Field.RUNTIME_INTERPRETERS_HEAD)).as(v).isFalse();
            assertThat(l.has(Field.RUNTIME_TSTATE_CURRENT)).as(v).isFalse();
            assertThat(l.has(Field.INTERP_TSTATE_HEAD)).as(v).isTrue();
            assertThat(l.has(Field.TSTATE_FRAME)).as(v).isTrue();
        }
        Layout py27 = Layouts.forVersion(PythonVersion.of(2, 7, 18));
        assertThat(py27.has(Field.UNICODE27_STR)).isTrue();
        assertThat(py27.has(Field.UNICODE_STATE)).isFalse();
        assertThat(py27.has(Field.TSTATE_PREV)).isFalse();
        assertThat(py27.has(Field.CONST_CODEUNIT_SIZE)).isFalse();
    }

    @Test
    void frameModelSwitchesAt311() throws Exception {
        Layout v310 = Layouts.forVersion(PythonVersion.of(3, 10, 13));
        Layout v311 = Layouts.forVersion(PythonVersion.of(3, 11, 7));
        Layout v312 = Layouts.forVersion(PythonVersion.of(3, 12, 1));
        assertThat(v310.offset(Field.CONST_LASTI_MULTIPLIER)).isEqualTo(2);
        assertThat(v310.has(Field.TSTATE_CFRAME)).isFalse();
        assertThat(v311.has(Field.TSTATE_FRAME)).isFalse();
        assertThat(v311.has(Field.IFRAME_IS_ENTRY)).isTrue();
        assertThat(v311.has(Field.CONST_FRAME_OWNED_BY_CSTACK)).isFalse();
        assertThat(v312.offset(Field.CONST_FRAME_OWNED_BY_CSTACK)).isEqualTo(3);
        assertThat(v312.has(Field.RUNTIME_TSTATE_CURRENT)).isFalse();
        assertThat(v312.has(Field.INTERP_GIL_PTR)).isTrue();
        assertThatThrownBy(() -> v312.require(Field.RUNTIME_TSTATE_CURRENT))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("RUNTIME_TSTATE_CURRENT");
    }
}
