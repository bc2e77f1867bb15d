package dev.spyglass.internal.export;

/**
 * Renders control characters from a target's names visibly, for text formats read by people and terminals.
 * A file or function name is the target's data: an ESC in it would otherwise drive the terminal that shows a
 * {@code .collapsed} or {@code .austin} file, and a NUL cuts lines in tools written in C. C0 controls, DEL and
 * C1 controls (U+0080..U+009F; U+009B is a CSI on some terminals) become {@code \xHH}, and a backslash becomes
 * {@code \\} so that an escape cannot be mistaken for a name that spells one.
 */
final class ControlCharacters {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ControlCharacters() {
    }

    /** Appends {@code c}, escaped when it is a control character or a backslash. */
    static void appendEscaped(StringBuilder sb, char c) {
        if (c == '\\') {
            sb.append("\\\\");
        } else if (c < 0x20 || c >= 0x7f && c <= 0x9f) {
            sb.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xf]);
        } else {
            sb.append(c);
        }
    }
}
