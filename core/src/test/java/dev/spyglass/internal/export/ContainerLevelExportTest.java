package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.METADATA;
import static dev.spyglass.internal.export.SyntheticProfile.PID;
import static dev.spyglass.internal.export.SyntheticProfile.T0;
import static dev.spyglass.internal.export.SyntheticProfile.feed;
import static dev.spyglass.internal.export.SyntheticProfile.samples;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.internal.push.Destination;
import dev.spyglass.internal.push.PyroscopeWindow;
import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest;

/**
 * A target in a container: every format shows the container as its outermost level (or, where the format has no
 * level above the process, in the process's name and the metadata), and a target in none writes no trace of one.
 * The profile's other content is the same either way.
 */
class ContainerLevelExportTest {
    private static final String ID = "3f2a9c1b2d4e";
    private static final ProfileMetadata IN_CONTAINER = METADATA.toBuilder().container(ID).build();

    private static String text(Function<ByteArrayOutputStream, Exporter> exporter) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(exporter.apply(out));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void collapsedPutsTheContainerAboveEveryProcessLine() throws Exception {
        String without = text(o -> CollapsedExporter.builder().metadata(METADATA).build(o));
        String with = text(o -> CollapsedExporter.builder().metadata(IN_CONTAINER).build(o));
        assertThat(without).doesNotContain("container").startsWith("process " + PID + ";thread ");
        assertThat(with.lines().toList()).containsExactlyElementsOf(
                without.lines().map(l -> "container " + ID + ";" + l).toList());
    }

    /** The page's embedded data (the JSON literal the exporter put in place of its placeholder). */
    private static JsonNode htmlData(String page) throws Exception {
        int start = page.indexOf("{\"meta\":");
        return new ObjectMapper().readTree(page.substring(start, page.indexOf("</script>", start)));
    }

    @Test
    void htmlHasOneContainerNodeHoldingWhatTheRootHeldWithout() throws Exception {
        JsonNode without = htmlData(text(o -> HtmlFlameGraphExporter.builder().metadata(METADATA).build(o)));
        JsonNode with = htmlData(text(o -> HtmlFlameGraphExporter.builder().metadata(IN_CONTAINER).build(o)));
        assertThat(without.get("meta").has("container")).isFalse();
        assertThat(with.get("meta").get("container").asText()).isEqualTo(ID);

        // tree nodes are [name, loc, value, children, ...]; the root holds one node, the container's
        JsonNode root = with.get("tree");
        assertThat(root.get(3)).hasSize(1);
        JsonNode container = root.get(3).get(0);
        assertThat(with.get("names").get(container.get(0).asInt()).asText()).isEqualTo("container " + ID);
        assertThat(container.get(2).asLong()).isEqualTo(root.get(2).asLong());
        assertThat(names(with, container.get(3))).containsExactlyElementsOf(names(without, without.get("tree").get(3)));
        assertThat(names(without, without.get("tree").get(3))).allMatch(n -> n.startsWith("thread "));
    }

    @Test
    void htmlPageShowsTheContainerAndFiltersItsThreads(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("profile.html");
        feed(HtmlFlameGraphExporter.builder().metadata(IN_CONTAINER).build(file));
        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(file.toUri().toString());
            assertThat(chromium.eval("document.querySelector('[data-field=container]').textContent").asText())
                    .isEqualTo(ID);
            // the filter lists the threads under the container, not the container itself
            assertThat(chromium.eval("[...document.getElementById('thread').options].map(o => o.textContent)"
                    + ".slice(1).map(t => t.split(' — ')[0])").toString())
                    .isEqualTo("[\"thread 1240 (MainThread)\",\"thread 1241 (worker-1)\"]");
            chromium.eval("""
                    (() => { const s = document.getElementById('thread'); s.value = '1';
                      s.dispatchEvent(new Event('change')); })()""");
            assertThat(chromium.eval("[...document.querySelectorAll('#graph .frame')].map(d => d.dataset.name)")
                    .toString()).isEqualTo("[\"thread 1241 (worker-1)\",\"Worker.run\",\"naïve_ß\"]");
            // the GIL stripes stay on frames: the container and thread levels are labels
            chromium.eval("""
                    (() => { const s = document.getElementById('thread'); s.value = '-1';
                      s.dispatchEvent(new Event('change')); })()""");
            assertThat(chromium.eval("[...document.querySelectorAll('#graph .frame.nogil')].map(d => d.dataset.name)")
                    .toString()).isEqualTo("[\"Worker.run\",\"naïve_ß\"]");
            assertThat(chromium.eval("[...document.querySelectorAll('#graph .frame.thread')].map(d => d.dataset.name)")
                    .toString()).contains("container " + ID).contains("thread 1241 (worker-1)");
            assertThat(chromium.errors()).isEmpty();
        }
    }

    private static List<String> names(JsonNode data, JsonNode nodes) {
        List<String> names = new ArrayList<>();
        nodes.forEach(n -> names.add(data.get("names").get(n.get(0).asInt()).asText()));
        return names;
    }

    @Test
    void speedscopeNamesEachProfileAfterTheContainerFirst() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode without = json.readTree(text(o -> SpeedscopeExporter.builder().metadata(METADATA).build(o)));
        JsonNode with = json.readTree(text(o -> SpeedscopeExporter.builder().metadata(IN_CONTAINER).build(o)));
        List<String> before = new ArrayList<>();
        without.get("profiles").forEach(p -> before.add(p.get("name").asText()));
        List<String> after = new ArrayList<>();
        with.get("profiles").forEach(p -> after.add(p.get("name").asText()));
        assertThat(before).isNotEmpty().noneMatch(n -> n.contains("container"));
        assertThat(after).containsExactlyElementsOf(before.stream().map(n -> "container " + ID + " " + n).toList());
        assertThat(with.get("shared")).isEqualTo(without.get("shared"));
    }

    @Test
    void austinWritesAContainerMetadataLineOnly() throws Exception {
        String without = text(o -> AustinExporter.builder().metadata(METADATA).build(o));
        String with = text(o -> AustinExporter.builder().metadata(IN_CONTAINER).build(o));
        assertThat(without).doesNotContain("container");
        List<String> expected = new ArrayList<>(without.lines().toList());
        expected.add(expected.indexOf("# python: 3.11.7") + 1, "# container: " + ID);
        assertThat(with.lines().toList()).containsExactlyElementsOf(expected);
    }

    @Test
    void mojoWritesAContainerMetadataEventOnly() throws Exception {
        ByteArrayOutputStream without = new ByteArrayOutputStream();
        feed(MojoExporter.builder().metadata(METADATA).build(without));
        ByteArrayOutputStream with = new ByteArrayOutputStream();
        feed(MojoExporter.builder().metadata(IN_CONTAINER).build(with));
        MojoFormat.Profile before = MojoFormat.parse(without.toByteArray());
        MojoFormat.Profile after = MojoFormat.parse(with.toByteArray());
        assertThat(before.metadata()).doesNotContainKey("container");
        assertThat(after.metadata()).containsEntry("container", ID);
        assertThat(after.samples()).isEqualTo(before.samples());
    }

    @Test
    void geckoNamesEveryProcessAfterTheContainerAndListsIt() throws Exception {
        JsonNode without = GeckoProfileExporterTest.write(samples(), GeckoProfileExporter.builder().metadata(METADATA));
        JsonNode with = GeckoProfileExporterTest.write(samples(),
                GeckoProfileExporter.builder().metadata(IN_CONTAINER));
        List<String> before = new ArrayList<>();
        without.get("threads").forEach(t -> before.add(t.get("processName").asText()));
        List<String> after = new ArrayList<>();
        with.get("threads").forEach(t -> after.add(t.get("processName").asText()));
        assertThat(before).isNotEmpty().allMatch(n -> n.equals("python3"));
        assertThat(after).allMatch(n -> n.equals("container " + ID + " python3")).hasSameSizeAs(before);
        assertThat(without.toString()).doesNotContain("Container");
        assertThat(with.get("meta").get("extra").get(0).get("entries").findValuesAsText("label"))
                .contains("Container");
    }

    @Test
    void chromeTraceNamesTheProcessAfterTheContainer() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode without = json.readTree(text(o -> ChromeTraceExporter.builder().metadata(METADATA).build(o)));
        JsonNode with = json.readTree(text(o -> ChromeTraceExporter.builder().metadata(IN_CONTAINER).build(o)));
        assertThat(processNames(without)).containsExactly("python3 x.py --n 3");
        assertThat(processNames(with)).containsExactly("container " + ID + " python3 x.py --n 3");
        assertThat(without.get("otherData").has("container")).isFalse();
        assertThat(with.get("otherData").get("container").asText()).isEqualTo(ID);
    }

    private static List<String> processNames(JsonNode trace) {
        List<String> names = new ArrayList<>();
        trace.get("traceEvents").forEach(e -> {
            if (e.get("name").asText().equals("process_name")) {
                names.add(e.get("args").get("name").asText());
            }
        });
        return names;
    }

    @Test
    void otlpResourceCarriesContainerIdOnlyInAContainer() throws Exception {
        assertThat(resource(METADATA)).doesNotContainKey("container.id").containsKey("process.pid");
        assertThat(resource(IN_CONTAINER)).containsEntry("container.id", ID);
    }

    private static Map<String, String> resource(ProfileMetadata metadata) throws Exception {
        OtlpProfiles profiles = new OtlpProfiles();
        samples().forEach(profiles::add);
        ExportProfilesServiceRequest r = ExportProfilesServiceRequest.parseFrom(
                profiles.encode(metadata, Map.of("service.name", "x"), T0, T0 + 150_000_000L, new byte[16]));
        Map<String, String> attributes = new LinkedHashMap<>();
        r.getResourceProfiles(0).getResource().getAttributesList().forEach(kv -> attributes.put(kv.getKey(),
                kv.getValue().hasStringValue() ? kv.getValue().getStringValue()
                        : Long.toString(kv.getValue().getIntValue())));
        return attributes;
    }

    @Test
    void pyroscopeSeriesCarriesAContainerLabelOnlyInAContainer() {
        assertThat(seriesName(METADATA)).isEqualTo("svc{hostname=box,pid=1234,python_version=3.11.7}");
        assertThat(seriesName(IN_CONTAINER))
                .isEqualTo("svc{hostname=box,pid=1234,python_version=3.11.7,container=" + ID + "}");
    }

    private static String seriesName(ProfileMetadata metadata) {
        PyroscopeWindow window = new PyroscopeWindow(
                new Destination(URI.create("http://localhost:4040"), "svc", "box", Map.of(), false), false);
        samples().forEach(window::add);
        String query = window.payload(metadata, T0, T0 + 150_000_000L).uri().getRawQuery();
        String name = query.substring("name=".length(), query.indexOf('&'));
        return URLDecoder.decode(name, StandardCharsets.UTF_8);
    }
}
