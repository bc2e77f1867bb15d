package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.CPythonVersion;
import dev.spyglass.cpython.abi.PythonVersion;

/** {@link Target#apiVersion}: the API's version says and prints exactly what the abi module's did. */
class ApiVersionTest {

    @Test
    void keepsEveryComponentAndTheText() {
        List<PythonVersion> versions = List.of(PythonVersion.of(2, 7, 18), PythonVersion.of(3, 12, 1),
                PythonVersion.fromHex(0x030E00C2L, true), PythonVersion.fromHex(0x030D00A3L, false),
                PythonVersion.fromHex(0x030D00B1L, false), PythonVersion.fromHex(0x030D00F0L, true),
                PythonVersion.fromFileName("libpython3.12.so.1.0").orElseThrow(),
                PythonVersion.fromFileName("python3.13t").orElseThrow());
        for (PythonVersion v : versions) {
            CPythonVersion api = Target.apiVersion(v);
            assertThat(api).hasToString(v.toString());
            assertThat(List.of(api.major(), api.minor(), api.micro(), api.serial()))
                    .containsExactly(v.major(), v.minor(), v.micro(), v.serial());
            assertThat(api.releaseLevel().name()).isEqualTo(v.releaseLevel().name());
            assertThat(api.freeThreaded()).isEqualTo(v.freeThreaded());
            assertThat(CPythonVersion.parse(api.toString())).isEqualTo(api);
        }
    }
}
