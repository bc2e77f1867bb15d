package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * String and bytes objects of every storage form, created in each real interpreter and copied out of
 * its memory with ctypes: {@link StringDecoder} must give back the original text.
 *
 * <p>The {@link Layout} here is derived from the interpreter's own sizes ({@code object.__basicsize__},
 * {@code str.__basicsize__}, {@code sys.getsizeof('')}, see strings_dump.py), independent of the
 * built-in tables. {@link #derivedOffsetsAgreeWithLayouts} compares those with
 * {@code Layouts.forVersion} once that class is on the branch.
 */
class StringDecoderOracleTest {

    private static final Logger LOG = LoggerFactory.getLogger(StringDecoderOracleTest.class);
    private static final int SMALL_CAP = 16;

    @ForEachPython
    void decodesEveryStringFormLikeTheInterpreterHoldsIt(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        JsonNode root = OracleScripts.run(py, "strings_dump.py");
        PythonVersion version = OracleScripts.version(root, py.freeThreaded());
        Layout layout = derivedLayout(root, version, py);
        int width = root.get("py_unicode_width").asInt();
        StringDecoder full = new StringDecoder(layout, 100_000, width);
        StringDecoder capped = new StringDecoder(layout, SMALL_CAP, width);
        TreeSet<String> formsSeen = new TreeSet<>();

        for (JsonNode s : root.get("samples")) {
            String name = s.get("name").asText();
            String kind = s.get("kind").asText();
            byte[] object = OracleScripts.hex(s.get("object"));
            MemorySegment obj = MemorySegment.ofArray(object);
            if (kind.equals("bytes")) {
                byte[] expected = OracleScripts.hex(s.get("hex"));
                StringHeader h = full.bytesHeader(obj, Integer.MAX_VALUE);
                assertThat(h.length()).as(name).isEqualTo(expected.length);
                assertThat(full.bytesContent(h, obj.asSlice(h.inlineOffset(), h.byteCount()))).as(name).isEqualTo(expected);
                StringHeader small = full.bytesHeader(obj, 7);
                assertThat(small.truncated()).as(name).isEqualTo(expected.length > 7);
                assertThat(full.bytesContent(small, obj.asSlice(small.inlineOffset())))
                        .as(name).isEqualTo(Arrays.copyOf(expected, Math.min(7, expected.length)));
                formsSeen.add("BYTES");
                continue;
            }
            String expected = s.get("text").asText();
            StringHeader h = header(full, kind, obj);
            formsSeen.add(h.kind() + (h.compact() ? " compact" : " non-compact"));
            assertThat(decodeFromDump(full, h, s, obj)).as("%s on %s: %s", name, py, h).isEqualTo(expected);

            // Two-step path of a sampler: a 256-byte prefix first, a second read only if needed.
            MemorySegment prefix = obj.asSlice(0, Math.min(256, object.length));
            StringHeader fromPrefix = header(full, kind, prefix);
            assertThat(fromPrefix).as(name).isEqualTo(h);
            if (h.isCompleteIn(prefix.byteSize())) {
                assertThat(full.decodeFromPrefix(h, prefix)).as(name).isEqualTo(expected);
            }

            StringHeader c = header(capped, kind, obj);
            String cut = truncate(expected, h.kind());
            assertThat(c.truncated()).as(name).isEqualTo(!cut.equals(expected));
            assertThat(decodeFromDump(capped, c, s, obj)).as("%s capped", name)
                    .isEqualTo(c.truncated() ? cut + StringDecoder.TRUNCATION_MARK : expected);
        }

        List<String> required = new ArrayList<>(List.of("ASCII compact", "LATIN1 compact", "UCS2 compact",
                "UCS4 compact", "ASCII non-compact", "LATIN1 non-compact", "UCS2 non-compact", "UCS4 non-compact",
                "BYTES"));
        if (version.major() == 2) {
            required = List.of("BYTES compact", "UCS" + width + " non-compact", "BYTES");
        }
        assertThat(formsSeen).as("storage forms decoded on %s", py).containsAll(required);
        LOG.info("{}: decoded {} objects, forms {}, skipped {}", py, root.get("samples").size(), formsSeen,
                root.get("skipped"));
    }

    @ForEachPython
    void derivedOffsetsAgreeWithLayouts(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Optional<Method> forVersion = layoutsForVersion();
        Assumptions.assumeTrue(forVersion.isPresent(), "Layouts.forVersion is not on this branch yet");
        JsonNode root = OracleScripts.run(py, "strings_dump.py");
        PythonVersion version = OracleScripts.version(root, py.freeThreaded());
        Object result;
        try {
            result = forVersion.get().invoke(null, version);
        } catch (InvocationTargetException e) {
            Assumptions.abort("Layouts has no table for " + version + ": " + e.getCause());
            return;
        }
        if (result instanceof Optional<?> o) {
            Assumptions.assumeTrue(o.isPresent(), "Layouts has no table for " + version);
            result = o.get();
        }
        Layout builtIn = (Layout) result;
        Layout derived = derivedLayout(root, version, py);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.get("layout").fields(); it.hasNext();) {
            Field f = Field.valueOf(it.next().getKey());
            assertThat(builtIn.offset(f)).as("%s on %s", f, py).isEqualTo(derived.offset(f));
        }
    }

    private static Optional<Method> layoutsForVersion() {
        try {
            return Optional.of(Class.forName("dev.spyglass.cpython.abi.Layouts").getMethod("forVersion",
                    PythonVersion.class));
        } catch (ReflectiveOperationException e) {
            return Optional.empty();
        }
    }

    static Layout derivedLayout(JsonNode root, PythonVersion version, PythonInterpreter py) {
        Layout.Builder b = Layout.builder(version, "derived from the sizes " + py.label() + " reports");
        for (Iterator<Map.Entry<String, JsonNode>> it = root.get("layout").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            b.set(Field.valueOf(e.getKey()), e.getValue().asLong());
        }
        return b.build();
    }

    private static StringHeader header(StringDecoder d, String kind, MemorySegment obj) throws MalformedObjectException {
        return kind.equals("unicode27") ? d.unicode27Header(obj) : d.header(obj);
    }

    /** Resolves the characters where the header says they are: inside the object or at the data address. */
    private static String decodeFromDump(StringDecoder d, StringHeader h, JsonNode s, MemorySegment obj)
            throws MalformedObjectException {
        if (h.isInline()) {
            assertThat(h.inlineOffset() + h.byteCount()).isLessThanOrEqualTo(obj.byteSize());
            return d.decode(h, obj.asSlice(h.inlineOffset(), h.byteCount()));
        }
        assertThat(h.dataAddress()).as("data pointer of %s", s.get("name").asText())
                .isEqualTo(s.get("data_address").asLong());
        return d.decode(h, MemorySegment.ofArray(OracleScripts.hex(s.get("data"))));
    }

    private static String truncate(String text, StringKind kind) {
        if (kind == StringKind.UCS4) {
            return text.codePoints().limit(SMALL_CAP)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        }
        return text.substring(0, Math.min(SMALL_CAP, text.length()));
    }
}
