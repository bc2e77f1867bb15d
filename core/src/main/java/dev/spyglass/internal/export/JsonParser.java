package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON (RFC 8259) parser for one line of a recording: objects become {@link Map}s (insertion ordered,
 * duplicate keys refused), arrays {@link List}s, numbers {@link Long} (integers) or {@link Double}, and
 * {@code null} the {@link #NULL} marker. Allocation is bounded by the text's length and nesting by
 * {@link #MAX_DEPTH}, so hostile input costs no more than its size. Errors are {@link Malformed} with the
 * column (1-based) where parsing stopped.
 */
final class JsonParser {
    /** Stands for JSON {@code null} (maps and lists hold no Java null). */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };
    /** Deeper than any recording line (four levels); a bound so a line of brackets cannot exhaust the stack. */
    static final int MAX_DEPTH = 32;

    /** Text that is not the JSON this parser accepts. */
    static final class Malformed extends Exception {
        final int column;

        Malformed(String message, int column) {
            super(message + " at column " + column);
            this.column = column;
        }
    }

    private final String s;
    private int i;

    private JsonParser(String s) {
        this.s = s;
    }

    /** The value {@code text} holds, with nothing but blanks after it. */
    static Object parse(String text) throws Malformed {
        JsonParser p = new JsonParser(text);
        p.blanks();
        Object v = p.value(0);
        p.blanks();
        if (p.i != text.length()) {
            throw p.error("text after the value");
        }
        return v;
    }

    private Malformed error(String what) {
        return new Malformed(what, i + 1);
    }

    private void blanks() {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                return;
            }
            i++;
        }
    }

    private Object value(int depth) throws Malformed {
        if (i >= s.length()) {
            throw error("end of line where a value was expected");
        }
        char c = s.charAt(i);
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", NULL);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character '" + printable(c) + "'");
            }
        };
    }

    private static String printable(char c) {
        return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }

    private Object literal(String word, Object value) throws Malformed {
        if (!s.startsWith(word, i)) {
            if (word.startsWith(s.substring(i))) {
                i = s.length(); // the line ends inside the word: cut
                throw error("end of line inside '" + word + "'");
            }
            throw error("unexpected character '" + printable(s.charAt(i)) + "'");
        }
        i += word.length();
        return value;
    }

    private Map<String, Object> object(int depth) throws Malformed {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
        i++; // {
        Map<String, Object> map = new LinkedHashMap<>();
        blanks();
        if (i < s.length() && s.charAt(i) == '}') {
            i++;
            return map;
        }
        while (true) {
            blanks();
            if (i >= s.length() || s.charAt(i) != '"') {
                throw error("expected a member name");
            }
            int at = i;
            String key = string();
            blanks();
            expect(':');
            blanks();
            if (map.put(key, value(depth)) != null) {
                i = at;
                throw error("member \"" + key + "\" given twice");
            }
            blanks();
            if (i < s.length() && s.charAt(i) == ',') {
                i++;
                continue;
            }
            expect('}');
            return map;
        }
    }

    private List<Object> array(int depth) throws Malformed {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
        i++; // [
        List<Object> list = new ArrayList<>();
        blanks();
        if (i < s.length() && s.charAt(i) == ']') {
            i++;
            return list;
        }
        while (true) {
            blanks();
            list.add(value(depth));
            blanks();
            if (i < s.length() && s.charAt(i) == ',') {
                i++;
                continue;
            }
            expect(']');
            return list;
        }
    }

    private void expect(char c) throws Malformed {
        if (i >= s.length()) {
            throw error("end of line where '" + c + "' was expected");
        }
        if (s.charAt(i) != c) {
            throw error("expected '" + c + "' but found '" + printable(s.charAt(i)) + "'");
        }
        i++;
    }

    private String string() throws Malformed {
        i++; // opening quote
        int start = i;
        // The common case, a string without escapes, is one substring.
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '"') {
                return s.substring(start, i++);
            }
            if (c == '\\' || c < 0x20) {
                break;
            }
            i++;
        }
        StringBuilder sb = new StringBuilder(i - start + 16).append(s, start, i);
        while (i < s.length()) {
            char c = s.charAt(i++);
            if (c == '"') {
                return sb.toString();
            }
            if (c < 0x20) {
                i--;
                throw error("control character in a string");
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (i >= s.length()) {
                break;
            }
            char e = s.charAt(i++);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (i + 4 > s.length()) {
                        i = s.length();
                        throw error("end of line inside a \\u escape");
                    }
                    int code = 0;
                    for (int k = 0; k < 4; k++) {
                        int d = Character.digit(s.charAt(i++), 16);
                        if (d < 0) {
                            i--;
                            throw error("bad \\u escape");
                        }
                        code = code << 4 | d;
                    }
                    sb.append((char) code);
                }
                default -> {
                    i--;
                    throw error("bad escape '\\" + printable(e) + "'");
                }
            }
        }
        throw error("end of line inside a string");
    }

    private Object number() throws Malformed {
        int start = i;
        if (s.charAt(i) == '-') {
            i++;
        }
        int intStart = i;
        digits();
        if (i == intStart) {
            throw error("malformed number");
        }
        if (s.charAt(intStart) == '0' && i - intStart > 1) {
            i = start;
            throw error("malformed number");
        }
        boolean integral = true;
        if (i < s.length() && s.charAt(i) == '.') {
            integral = false;
            i++;
            int fraction = i;
            digits();
            if (i == fraction) {
                throw error("malformed number");
            }
        }
        if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            integral = false;
            i++;
            if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int exponent = i;
            digits();
            if (i == exponent) {
                throw error("malformed number");
            }
        }
        String text = s.substring(start, i);
        if (integral) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                i = start;
                throw error("integer out of the 64-bit range");
            }
        }
        return Double.parseDouble(text);
    }

    private void digits() {
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
        }
    }
}
