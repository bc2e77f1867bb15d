package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TerminalTextTest {

    @Test
    void controlCharactersAndBackslashesAreEscapedAndOtherTextIsKept() {
        assertThat(TerminalText.escape("bad\u001b[31mname\u0000\u007f\t\u009b")).isEqualTo("bad\\x1b[31mname\\x00\\x7f\\x09\\x9b");
        assertThat(TerminalText.escape("C:\\x1b")).isEqualTo("C:\\\\x1b");
        String plain = "naïve_ß (/app/tëst_ü.py)";
        assertThat(TerminalText.escape(plain)).isSameAs(plain);
    }
}
