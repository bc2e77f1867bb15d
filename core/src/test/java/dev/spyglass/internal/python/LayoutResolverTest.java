package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.PythonVersion;

class LayoutResolverTest {

    @Test
    void unsupportedVersionsNameTheVersionAndWhatIsSupported() {
        assertThatThrownBy(() -> LayoutResolver.layoutFor(42, PythonVersion.of(3, 5, 10), 0, null, "/usr/lib/libpython3.5m.so"))
                .isInstanceOf(UnsupportedPythonVersionException.class).hasMessageContaining("CPython 3.5.10")
                .hasMessageContaining("process 42").hasMessageContaining(UnsupportedPythonVersionException.SUPPORTED);
        assertThatThrownBy(() -> LayoutResolver.layoutFor(42, PythonVersion.of(3, 13, 0), 0, null, "python3.13"))
                .isInstanceOf(UnsupportedPythonVersionException.class).hasMessageContaining("_Py_DebugOffsets");
    }

    @Test
    void builtInTablesUpTo312() throws Exception {
        assertThat(LayoutResolver.layoutFor(1, PythonVersion.of(3, 12, 1), 0, null, "x").has(Field.TSTATE_CFRAME))
                .isTrue();
        assertThat(LayoutResolver.layoutFor(1, PythonVersion.of(2, 7, 18), 0, null, "x").has(Field.TSTATE_FRAME))
                .isTrue();
    }
}
