package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.CPythonVersion.ReleaseLevel;

class CPythonVersionTest {

    @Test
    void printsAsCPythonDoes() {
        assertThat(CPythonVersion.of(3, 12, 1)).hasToString("3.12.1");
        assertThat(CPythonVersion.of(2, 7, 18)).hasToString("2.7.18");
        assertThat(new CPythonVersion(3, 14, 0, ReleaseLevel.CANDIDATE, 2, false)).hasToString("3.14.0rc2");
        assertThat(new CPythonVersion(3, 13, 0, ReleaseLevel.ALPHA, 3, false)).hasToString("3.13.0a3");
        assertThat(new CPythonVersion(3, 13, 0, ReleaseLevel.BETA, 1, false)).hasToString("3.13.0b1");
        assertThat(new CPythonVersion(3, 13, 0, ReleaseLevel.FINAL, 0, true)).hasToString("3.13.0t");
        assertThat(new CPythonVersion(3, 14, 0, ReleaseLevel.CANDIDATE, 2, true)).hasToString("3.14.0rc2t");
        assertThat(new CPythonVersion(3, 12, -1, ReleaseLevel.FINAL, 0, false)).hasToString("3.12");
        assertThat(new CPythonVersion(3, 13, -1, ReleaseLevel.FINAL, 0, true)).hasToString("3.13t");
    }

    @Test
    void parsesWhatItPrints() {
        for (String text : List.of("3.12.1", "2.7.18", "3.14.0rc2", "3.13.0a3", "3.13.0b1", "3.13.0t", "3.14.0rc2t",
                "3.12", "3.13t", "3.6.15")) {
            assertThat(CPythonVersion.parse(text)).hasToString(text);
        }
        assertThat(CPythonVersion.parse("3.12.1")).isEqualTo(CPythonVersion.of(3, 12, 1));
        assertThat(CPythonVersion.parse("3.14.0rc2"))
                .isEqualTo(new CPythonVersion(3, 14, 0, ReleaseLevel.CANDIDATE, 2, false));
        CPythonVersion unknownMicro = CPythonVersion.parse("3.13t");
        assertThat(unknownMicro.micro()).isEqualTo(-1);
        assertThat(unknownMicro.freeThreaded()).isTrue();
    }

    @Test
    void parseRejectsAnythingElse() {
        for (String text : List.of("", "3", "3.", "python3.12", "3.12.1 (default)", "3.12.1+", "3.12.1c1",
                "3.12.1tt", " 3.12.1", "99999999999.1")) {
            assertThatThrownBy(() -> CPythonVersion.parse(text)).as("'%s'", text)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(text);
        }
    }

    @Test
    void rejectsNegativeComponents() {
        assertThatThrownBy(() -> CPythonVersion.of(3, -1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CPythonVersion.of(3, 12, -2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CPythonVersion(3, 12, 0, ReleaseLevel.ALPHA, -1, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CPythonVersion(3, 12, 0, null, 0, false)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void ordersByReleaseThenIgnoresTheBuild() {
        assertThat(CPythonVersion.of(3, 7, 3)).isLessThan(CPythonVersion.of(3, 7, 4));
        assertThat(CPythonVersion.of(3, 10, 0)).isGreaterThan(CPythonVersion.of(3, 9, 18));
        assertThat(CPythonVersion.of(2, 7, 18)).isLessThan(CPythonVersion.of(3, 6, 0));
        assertThat(CPythonVersion.parse("3.14.0a1")).isLessThan(CPythonVersion.parse("3.14.0b1"));
        assertThat(CPythonVersion.parse("3.14.0b3")).isLessThan(CPythonVersion.parse("3.14.0rc1"));
        assertThat(CPythonVersion.parse("3.14.0rc1")).isLessThan(CPythonVersion.parse("3.14.0rc2"));
        assertThat(CPythonVersion.parse("3.14.0rc2")).isLessThan(CPythonVersion.of(3, 14, 0));
        assertThat(CPythonVersion.parse("3.12")).as("unknown micro first").isLessThan(CPythonVersion.of(3, 12, 0));
        assertThat(CPythonVersion.parse("3.13.0t")).isEqualByComparingTo(CPythonVersion.of(3, 13, 0))
                .isNotEqualTo(CPythonVersion.of(3, 13, 0));
    }

    @Test
    void isAtLeastComparesMajorAndMinorOnly() {
        assertThat(CPythonVersion.of(3, 12, 1).isAtLeast(3, 12)).isTrue();
        assertThat(CPythonVersion.of(3, 12, 1).isAtLeast(3, 11)).isTrue();
        assertThat(CPythonVersion.of(3, 12, 1).isAtLeast(3, 13)).isFalse();
        assertThat(CPythonVersion.of(2, 7, 18).isAtLeast(3, 0)).isFalse();
        assertThat(CPythonVersion.of(3, 0, 0).isAtLeast(2, 7)).isTrue();
        assertThat(CPythonVersion.parse("3.13.0a1").isAtLeast(3, 13)).isTrue();
        assertThat(CPythonVersion.parse("3.12").isAtLeast(3, 12)).isTrue();
    }
}
