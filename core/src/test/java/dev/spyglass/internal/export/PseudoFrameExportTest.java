package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.perftools.profiles.ProfileProto.Function;
import com.google.perftools.profiles.ProfileProto.Profile;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;

/**
 * Every format renders the {@link Frame.FrameKind#PSEUDO} frame {@code <interpreter shutdown>} as its label
 * alone: no file, no line, and (JSON lines) the kind {@code pseudo}.
 */
class PseudoFrameExportTest {

    static final Frame DEL = Frame.python("__del__", "SlowDel.__del__", "/app/x.py", 9, 7);
    static final String LABEL = "<interpreter shutdown>";

    @TempDir
    Path dir;

    static List<StackSample> samples() {
        ThreadStack inDel = new ThreadStack(1234, 1234, 0x7f00, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE,
                List.of(DEL, Frame.INTERPRETER_SHUTDOWN));
        ThreadStack bare = new ThreadStack(1234, 1234, 0x7f00, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE,
                List.of(Frame.INTERPRETER_SHUTDOWN));
        return List.of(new StackSample(inDel, 1_000_000L, 1_000_000L), new StackSample(bare, 2_000_000L, 1_000_000L),
                new StackSample(bare, 3_000_000L, 1_000_000L));
    }

    static void feed(Exporter e) throws Exception {
        try (e) {
            samples().forEach(e::accept);
        }
    }

    @Test
    void everyFormatShowsTheLabelAlone() throws Exception {
        assertThat(Frame.INTERPRETER_SHUTDOWN.toString()).isEqualTo(LABEL);

        ByteArrayOutputStream collapsed = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().build(collapsed));
        Map<List<String>, Long> stacks = FoldedStacks.parse(collapsed.toString(StandardCharsets.UTF_8));
        assertThat(stacks).containsEntry(List.of("process 1234", "thread 1234 (MainThread)", LABEL), 2L)
                .containsEntry(List.of("process 1234", "thread 1234 (MainThread)", LABEL,
                        "SlowDel.__del__ (/app/x.py:9)"), 1L);

        ByteArrayOutputStream austin = new ByteArrayOutputStream();
        feed(AustinExporter.builder().build(austin));
        AustinFormat.Profile a = AustinFormat.parse(austin.toString(StandardCharsets.UTF_8));
        assertThat(a.samples()).hasSize(3);
        AustinFormat.Frame root = a.samples().get(0).rootFirst().get(0);
        assertThat(root.file()).isEmpty();
        assertThat(root.function()).isEqualTo(LABEL);
        assertThat(root.line()).isZero();

        ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
        feed(JsonLinesExporter.builder().build(jsonl));
        JsonNode first = JsonLinesExporterTest.JSON.readTree(JsonLinesExporterTest.sampleLines(jsonl.toString(StandardCharsets.UTF_8))[0]);
        JsonNode pseudo = first.get("frames").get(1);
        assertThat(pseudo.get("kind").asText()).isEqualTo("pseudo");
        assertThat(pseudo.get("function").asText()).isEqualTo(LABEL);
        assertThat(pseudo.get("file").asText()).isEmpty();

        Path speedscope = dir.resolve("p.speedscope.json");
        feed(SpeedscopeExporter.builder().build(speedscope));
        JsonNode frames = JsonLinesExporterTest.JSON.readTree(speedscope.toFile()).get("shared").get("frames");
        boolean found = false;
        for (JsonNode f : frames) {
            if (f.get("name").asText().equals(LABEL)) {
                found = true;
                assertThat(f.has("file")).as("speedscope frame %s", f).isFalse();
            }
        }
        assertThat(found).as("speedscope frames %s", frames).isTrue();

        ByteArrayOutputStream pprof = new ByteArrayOutputStream();
        feed(PprofExporter.builder().build(pprof));
        Profile p = PprofExporterTest.decode(pprof.toByteArray());
        assertThat(PprofExporterTest.stacks(p)).contains(List.of(LABEL + " :0"),
                List.of(LABEL + " :0", "SlowDel.__del__ /app/x.py:9"));
        for (Function f : p.getFunctionList()) {
            assertThat(f.getSystemName()).as("system_name of %s", p.getStringTable((int) f.getName())).isZero();
        }

        Path html = dir.resolve("p.html");
        feed(HtmlFlameGraphExporter.builder().build(html));
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(Files.readString(html));
        assertThat(m.find()).isTrue();
        assertThat(JsonLinesExporterTest.JSON.readTree(m.group(1)).get("names").toString()).contains("\"" + LABEL + "\"");
    }
}
