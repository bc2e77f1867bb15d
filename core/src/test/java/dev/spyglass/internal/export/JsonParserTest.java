package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The recording lines' JSON parser: RFC 8259 values, strictness, and the column of an error (at the end = cut). */
class JsonParserTest {

    @Test
    void parsesEveryKindOfValue() throws Exception {
        Object v = JsonParser.parse(" {\"a\":[1,-2,3.5,-0.25e2,1E3,true,false,null],\"b\":{},\"c\":[],"
                + "\"s\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\ud800\"} ");
        assertThat(v).isEqualTo(Map.of("a", List.of(1L, -2L, 3.5, -25.0, 1000.0, true, false, JsonParser.NULL),
                "b", Map.of(), "c", List.of(), "s", "q\"\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800"));
        assertThat(JsonParser.parse(Long.toString(Long.MIN_VALUE))).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void whatWriterWritesReadsBackExactly() throws Exception {
        String hostile = "a\"b\\c\n\t\u0001\u007f\u2028é函数😀\ud800x";
        assertThat(JsonParser.parse(JsonText.string(hostile))).isEqualTo(hostile);
        for (double d : new double[] {987.123456789, 1e-7, 0.1, 133.25408794307495}) {
            assertThat(JsonParser.parse(JsonText.number(d))).isEqualTo(d);
        }
    }

    @Test
    void refusesWhatJsonDoesNotAllowWithTheColumn() {
        assertError("{\"a\":1,}", "expected a member name at column 8", false);
        assertError("[01]", "malformed number at column 2", false);
        assertError("\"a\u0001\"", "control character in a string at column 3", false);
        assertError("\"\\x\"", "bad escape '\\x' at column 3", false);
        assertError("{\"a\":1} x", "text after the value at column 9", false);
        assertError("nul!", "unexpected character 'n' at column 1", false);
        assertError("NaN", "unexpected character 'N' at column 1", false);
        assertError("{\"a\":1,\"a\":2}", "member \"a\" given twice at column 8", false);
    }

    @Test
    void aValueCutShortFailsAtItsEnd() {
        for (String cut : List.of("{", "{\"a", "{\"a\":", "{\"a\":-", "{\"a\":1.", "{\"a\":1e", "{\"a\":tr", "{\"a\":nu",
                "{\"a\":\"x\\u00", "{\"a\":\"x\\", "[1,", "{\"a\":[{}")) {
            assertError(cut, null, true);
        }
    }

    private static void assertError(String text, String message, boolean atEnd) {
        assertThatThrownBy(() -> JsonParser.parse(text)).isInstanceOfSatisfying(JsonParser.Malformed.class, e -> {
            if (message != null) {
                assertThat(e.getMessage()).isEqualTo(message);
            }
            assertThat(e.column > text.length()).as("%s: %s", text, e.getMessage()).isEqualTo(atEnd);
        });
    }
}
