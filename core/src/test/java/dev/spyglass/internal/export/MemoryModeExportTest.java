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
import com.google.perftools.profiles.ProfileProto.Profile;
import com.google.perftools.profiles.ProfileProto.Sample;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;

/**
 * Memory mode's samples (weights in bytes, releases under {@link Frame#MEMORY_RELEASED}) in every format: bytes
 * rather than time or counts, and the release view apart from the growth view.
 */
class MemoryModeExportTest {
    static final Frame GROW = Frame.python("grow", "grow", "/app/m.py", 9, 8);
    static final Frame RELEASE = Frame.python("release", "release", "/app/m.py", 14, 12);
    static final Frame MAIN = Frame.python("<module>", "<module>", "/app/m.py", 20, 1);
    static final ProfileMetadata MEMORY = ProfileMetadata.builder().mode("memory").pid(1234).build();

    @TempDir
    Path dir;

    static List<StackSample> samples() {
        ThreadStack growing = stack(List.of(GROW, MAIN));
        ThreadStack released = stack(List.of(RELEASE, MAIN, Frame.MEMORY_RELEASED));
        return List.of(new StackSample(growing, 1_000_000L, 262_144), new StackSample(growing, 2_000_000L, 8_192),
                new StackSample(released, 3_000_000L, 135_168));
    }

    private static ThreadStack stack(List<Frame> frames) {
        return new ThreadStack(1234, 1234, 0x7f00, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE, frames);
    }

    static void feed(Exporter e) throws Exception {
        try (e) {
            samples().forEach(e::accept);
        }
    }

    @Test
    void everyFormatWeighsBytesAndKeepsReleasesApart() throws Exception {
        ByteArrayOutputStream collapsed = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().metadata(MEMORY).build(collapsed));
        Map<List<String>, Long> stacks = FoldedStacks.parse(collapsed.toString(StandardCharsets.UTF_8));
        assertThat(stacks).containsEntry(List.of("process 1234", "thread 1234 (MainThread)", "<module> (/app/m.py:20)",
                "grow (/app/m.py:9)"), 270_336L)
                .containsEntry(List.of("process 1234", "thread 1234 (MainThread)", "<memory released>",
                        "<module> (/app/m.py:20)", "release (/app/m.py:14)"), 135_168L);

        ByteArrayOutputStream austin = new ByteArrayOutputStream();
        feed(AustinExporter.builder().metadata(MEMORY).build(austin));
        AustinFormat.Profile a = AustinFormat.parse(austin.toString(StandardCharsets.UTF_8));
        assertThat(a.header()).containsEntry("mode", "memory");
        assertThat(a.samples()).extracting(AustinFormat.Sample::metric).containsExactly(262_144L, 8_192L, -135_168L);
        // The marker is not written: Austin's reader takes the negative metric as the release.
        assertThat(a.samples().get(2).rootFirst()).extracting(AustinFormat.Frame::function)
                .containsExactly("<module>", "release");

        ByteArrayOutputStream pprof = new ByteArrayOutputStream();
        feed(PprofExporter.builder().metadata(MEMORY).build(pprof));
        Profile p = PprofExporterTest.decode(pprof.toByteArray());
        assertThat(p.getSampleTypeList()).extracting(t -> p.getStringTable((int) t.getType()) + "/"
                + p.getStringTable((int) t.getUnit())).containsExactly("samples/count", "memory/bytes",
                        "memory_released/bytes");
        assertThat(p.getStringTable((int) p.getDefaultSampleType())).isEqualTo("memory");
        assertThat(PprofExporterTest.stacks(p)).doesNotContain(List.of("<memory released> :0"));
        long grown = 0;
        long freed = 0;
        for (Sample s : p.getSampleList()) {
            grown += s.getValue(1);
            freed += s.getValue(2);
        }
        assertThat(grown).isEqualTo(270_336L);
        assertThat(freed).isEqualTo(135_168L);

        Path speedscope = dir.resolve("m.speedscope.json");
        feed(SpeedscopeExporter.builder().metadata(MEMORY).build(speedscope));
        JsonNode profile = JsonLinesExporterTest.JSON.readTree(speedscope.toFile()).get("profiles").get(0);
        assertThat(profile.get("unit").asText()).isEqualTo("bytes");
        assertThat(profile.get("endValue").asLong()).isEqualTo(270_336L + 135_168L);

        Path html = dir.resolve("m.html");
        feed(HtmlFlameGraphExporter.builder().metadata(MEMORY).build(html));
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(Files.readString(html));
        assertThat(m.find()).isTrue();
        JsonNode tree = JsonLinesExporterTest.JSON.readTree(m.group(1)).get("tree");
        assertThat(tree.get(2).asLong()).as("the root's value: bytes, not samples").isEqualTo(270_336L + 135_168L);
    }
}
