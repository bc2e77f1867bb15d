package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.spyglass.cpython.abi.PythonVersion.ReleaseLevel;

class PythonVersionTest {

    @Test
    void decodesPyVersionHex() {
        assertThat(PythonVersion.fromHex(0x030C01F0L, false)).isEqualTo(PythonVersion.of(3, 12, 1));
        assertThat(PythonVersion.fromHex(0x020712F0L, false)).isEqualTo(PythonVersion.of(2, 7, 18));
        PythonVersion rc = PythonVersion.fromHex(0x030E00C2L, true);
        assertThat(rc.releaseLevel()).isEqualTo(ReleaseLevel.CANDIDATE);
        assertThat(rc.serial()).isEqualTo(2);
        assertThat(rc.freeThreaded()).isTrue();
        assertThat(rc).hasToString("3.14.0rc2t");
        assertThat(PythonVersion.fromHex(0x030D00A3L, false)).hasToString("3.13.0a3");
        assertThat(PythonVersion.fromHex(0x030D00B1L, false)).hasToString("3.13.0b1");
    }

    @Test
    void rejectsHexThatIsNotAVersion() {
        assertThatThrownBy(() -> PythonVersion.fromHex(0x030C0100L, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x30c0100");
        assertThatThrownBy(() -> PythonVersion.fromHex(0x040001F0L, false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void hexRoundTrips() {
        for (long hex : new long[] {0x020712F0L, 0x030615F0L, 0x030E00C2L, 0x030D00A1L, 0x030B07F0L}) {
            assertThat(PythonVersion.fromHex(hex, false).hex()).isEqualTo(hex);
        }
    }

    @Test
    void parsesSysVersionStrings() {
        assertThat(PythonVersion.parse("3.6.15 (default, Oct 12 2026, 10:00:00) \n[GCC 12.2.0]"))
                .contains(PythonVersion.of(3, 6, 15));
        assertThat(PythonVersion.parse("2.7.18 (default, Nov 21 2026, 22:00:00)"))
                .contains(PythonVersion.of(2, 7, 18));
        PythonVersion rc = PythonVersion.parse("3.14.0rc2").orElseThrow();
        assertThat(rc.releaseLevel()).isEqualTo(ReleaseLevel.CANDIDATE);
        assertThat(rc.serial()).isEqualTo(2);
        assertThat(rc.freeThreaded()).isFalse();
        PythonVersion ft = PythonVersion.parse("3.13.0t").orElseThrow();
        assertThat(ft.freeThreaded()).isTrue();
        assertThat(ft).hasToString("3.13.0t");
        assertThat(PythonVersion.parse("Python 3.12.1+ (heads/3.12:abc)")).contains(PythonVersion.of(3, 12, 1));
        assertThat(PythonVersion.parse("3.10.13")).contains(PythonVersion.of(3, 10, 13));
    }

    @Test
    void parseFindsNothingInTextWithoutAPythonVersion() {
        assertThat(PythonVersion.parse("GCC 13.3.1")).isEmpty();
        assertThat(PythonVersion.parse("libc-2.41.so")).isEmpty();
        assertThat(PythonVersion.parse("")).isEmpty();
    }

    @Test
    void takesMajorMinorFromFileNames() {
        assertThat(PythonVersion.fromFileName("libpython3.12.so.1.0"))
                .contains(new PythonVersion(3, 12, -1, ReleaseLevel.FINAL, 0, false));
        assertThat(PythonVersion.fromFileName("libpython3.6m.so.1.0").map(PythonVersion::toString)).contains("3.6");
        assertThat(PythonVersion.fromFileName("libpython2.7.so").map(PythonVersion::toString)).contains("2.7");
        Optional<PythonVersion> ft = PythonVersion.fromFileName("python3.13t");
        assertThat(ft.map(PythonVersion::freeThreaded)).contains(true);
        assertThat(PythonVersion.fromFileName("libc.so.6")).isEmpty();
    }

    @Test
    void ordersAndCompares() {
        assertThat(PythonVersion.of(3, 7, 3)).isLessThan(PythonVersion.of(3, 7, 4));
        assertThat(PythonVersion.parse("3.14.0rc2").orElseThrow()).isLessThan(PythonVersion.of(3, 14, 0));
        assertThat(PythonVersion.of(3, 10, 0)).isGreaterThan(PythonVersion.of(3, 9, 18));
        assertThat(PythonVersion.of(3, 12, 1).isAtLeast(3, 12)).isTrue();
        assertThat(PythonVersion.of(3, 12, 1).isAtLeast(3, 13)).isFalse();
        assertThat(PythonVersion.of(2, 7, 18).isAtLeast(3, 0)).isFalse();
        assertThat(PythonVersion.of(3, 12, 1).is(3, 12)).isTrue();
    }
}
