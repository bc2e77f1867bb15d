package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;

class JsonLinesExporterTest {

    /** Strict: no duplicate keys, no trailing tokens, no comments, no NaN. */
    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    /** The sample lines of a JSON lines text: those without a {@code type} (the header and end lines have one). */
    static String[] sampleLines(String text) {
        return text.lines().filter(l -> !l.startsWith("{\"type\":")).toArray(String[]::new);
    }

    static List<JsonNode> export() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder().build(out));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).endsWith("\n");
        List<JsonNode> objects = new ArrayList<>();
        for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
            JsonNode o = JSON.readTree(line);
            if (!o.has("type")) {
                objects.add(o);
            }
        }
        return objects;
    }

    @Test
    void writesEverySampleAsOneObjectWithTheDocumentedFields() throws Exception {
        List<JsonNode> objects = export();
        List<StackSample> samples = samples();

        assertThat(objects).hasSize(samples.size());
        for (int i = 0; i < samples.size(); i++) {
            StackSample s = samples.get(i);
            JsonNode o = objects.get(i);
            // thread_start only when known (these samples' start times are not)
            assertThat(s.threadStartTime()).isEqualTo(-1);
            assertThat(iterable(o.fieldNames())).containsExactly("pid", "tid", "thread", "ts", "weight_ns", "state",
                    "gil", "python_tid", "interpreter", "frames");
            assertThat(o.get("python_tid").asLong()).isEqualTo(s.pythonThreadId());
            assertThat(o.get("interpreter").asLong()).isEqualTo(s.interpreterId());
            assertThat(o.get("pid").isIntegralNumber()).isTrue();
            assertThat(o.get("pid").asLong()).isEqualTo(s.pid());
            assertThat(o.get("tid").asLong()).isEqualTo(s.nativeThreadId());
            assertThat(o.get("thread").asText()).isEqualTo(s.threadName());
            assertThat(o.get("ts").asLong()).isEqualTo(s.timestampNanos());
            assertThat(o.get("weight_ns").asLong()).isEqualTo(WEIGHT);
            assertThat(o.get("state").asText()).isIn(Set.of("running", "idle", "unknown"))
                    .isEqualTo(s.state().name().toLowerCase());
            if (s.gilHeld() == null) {
                assertThat(o.get("gil").isNull()).isTrue();
            } else {
                assertThat(o.get("gil").isBoolean()).isTrue();
                assertThat(o.get("gil").asBoolean()).isEqualTo(s.gilHeld());
            }
            JsonNode frames = o.get("frames");
            assertThat(frames.isArray()).isTrue();
            assertThat(frames.size()).isEqualTo(s.frames().size());
            for (int f = 0; f < frames.size(); f++) {
                JsonNode jf = frames.get(f);
                Frame expected = s.frames().get(f);
                List<String> fields = new ArrayList<>(List.of("kind", "function", "qualname", "file", "line"));
                if (expected.firstLine() > 0) {
                    fields.add("first_line");
                    assertThat(jf.get("first_line").asInt()).isEqualTo(expected.firstLine());
                }
                assertThat(iterable(jf.fieldNames())).containsExactlyElementsOf(fields);
                assertThat(jf.get("kind").asText()).isEqualTo("python");
                assertThat(jf.get("function").asText()).isEqualTo(s.frames().get(f).function());
                assertThat(jf.get("qualname").asText()).isEqualTo(s.frames().get(f).qualifiedName());
                assertThat(jf.get("file").asText()).isEqualTo(s.frames().get(f).file());
                assertThat(jf.get("line").asInt()).isEqualTo(s.frames().get(f).line());
            }
        }
    }

    @Test
    void aTargetInAContainerIsNamedOnEveryLineAfterThePid() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder()
                .metadata(dev.spyglass.export.ProfileMetadata.builder().container("cdbcfc838834").build()).build(out));
        // The sample lines: the recording's header and end lines have a type.
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("{\"type\"")).toList();
        assertThat(lines).hasSize(samples().size());
        for (String line : lines) {
            JsonNode o = JSON.readTree(line);
            assertThat(iterable(o.fieldNames())).startsWith("pid", "container", "tid");
            assertThat(o.get("container").asText()).isEqualTo("cdbcfc838834");
        }
    }

    @Test
    void framesAreInnermostFirstAndHostileNamesSurviveTheRoundTrip() throws Exception {
        JsonNode odd = export().stream().filter(o -> o.get("frames").size() == 3
                && o.get("frames").get(0).get("line").asInt() == 7).findFirst().orElseThrow();

        assertThat(odd.get("frames").get(0).get("qualname").asText()).isEqualTo(ODD.qualifiedName());
        assertThat(odd.get("frames").get(0).get("file").asText()).isEqualTo("/app/we;ird path.py");
        assertThat(odd.get("frames").get(2).get("function").asText()).isEqualTo("<module>");
    }

    @Test
    void escapesControlCharactersAndKeepsNonAscii() {
        assertThat(JsonText.string("a\"b\\c\n\t\u0001é函数😀\ud800")).isEqualTo(
                "\"a\\\"b\\\\c\\n\\t\\u0001é函数😀\\ud800\"");
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }
}
