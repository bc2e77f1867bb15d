package dev.spyglass.examples;

/**
 * A target's names made safe for a terminal: an ESC in a function or file name must not move the cursor or
 * recolour the screen of the person reading {@code dump} or {@code top}. Control characters (C0, DEL and
 * U+0080..U+009F, where U+009B is a CSI on some terminals) become {@code \xHH} and a backslash {@code \\},
 * as the collapsed and austin exporters write them (their escaping is internal to the core module).
 */
final class TerminalText {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private TerminalText() {
    }

    static String escape(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || c >= 0x7f && c <= 0x9f;
            if (sb == null) {
                if (!control && c != '\\') {
                    continue;
                }
                sb = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (c == '\\') {
                sb.append("\\\\");
            } else if (control) {
                sb.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xf]);
            } else {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }
}
