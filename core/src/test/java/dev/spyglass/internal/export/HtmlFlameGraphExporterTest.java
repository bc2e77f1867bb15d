package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

class HtmlFlameGraphExporterTest {

    @TempDir
    Path dir;

    Path export() throws Exception {
        Path file = dir.resolve("profile.html");
        feed(HtmlFlameGraphExporter.builder().metadata(METADATA).build(file));
        return file;
    }

    @Test
    void isOneSelfContainedFileWithTheProfileEmbedded() throws Exception {
        String html = Files.readString(export(), StandardCharsets.UTF_8);

        // nothing is fetched: no external script, style, font, image or link target
        assertThat(html).doesNotContainPattern("(?i)<script[^>]+src=").doesNotContainPattern("(?i)<link")
                .doesNotContainPattern("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}/").doesNotContain("@import");
        // the hostile frame name cannot end the data script early
        assertThat(html).doesNotContain("</script><b>");
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(html);
        assertThat(m.find()).isTrue();
        JsonNode data = JsonLinesExporterTest.JSON.readTree(m.group(1));
        assertThat(data.get("tree").get(2).asLong()).isEqualTo(KEPT);
        assertThat(data.get("meta").get("python").asText()).isEqualTo("3.11.7");
        assertThat(data.get("names").toString()).contains(ODD.qualifiedName().replace("\n", "\\n")
                .replace("\"", "\\\""));
    }

    @Test
    void worksInAHeadlessBrowser() throws Exception {
        Path file = export();
        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(file.toUri().toString());

            assertThat(chromium.eval("document.querySelector('[data-field=samples]').textContent").asText())
                    .isEqualTo(Integer.toString(ALL));
            assertThat(chromium.eval("document.querySelector('[data-field=python]').textContent").asText())
                    .isEqualTo("3.11.7");
            assertThat(chromium.eval("document.querySelector('[data-field=torn-samples]').textContent").asText())
                    .isEqualTo("3.45% (5)");
            assertThat(chromium.eval("document.querySelector('[data-field=achieved-rate]').textContent").asText())
                    .isEqualTo("988 /s");
            assertThat(chromium.eval("document.title").asText()).isEqualTo("Spyglass: python3 x.py --n 3");

            // the hot function: the heaviest leaf box on screen
            JsonNode hottest = chromium.eval("""
                    (() => { let best = null;
                      for (const d of document.querySelectorAll('#graph .frame')) {
                        const n = d._node;
                        if (n.children.length === 0 && (!best || n.value > best.value)) best = n;
                      }
                      return {name: best.name, loc: best.loc, value: best.value}; })()""");
            assertThat(hottest.get("name").asText()).isEqualTo("Outer.leaf");
            assertThat(hottest.get("loc").asText()).isEqualTo("/app/x.py:9");
            assertThat(hottest.get("value").asInt()).isEqualTo(LEAF_9);

            // tooltip on hover
            JsonNode helper = box(chromium, "helper");
            chromium.send("Input.dispatchMouseEvent", java.util.Map.of("type", "mouseMoved",
                    "x", helper.get("cx").asDouble(), "y", helper.get("cy").asDouble()));
            String tip = chromium.eval("document.getElementById('tooltip').textContent").asText();
            assertThat(tip).contains("helper").contains("/app/x.py:14").contains("25 samples")
                    .contains(String.format("%.2f%% of all", 100.0 * HELPER_N / KEPT));

            // click-to-zoom: the clicked box spans the graph, its ancestors stay above it dimmed
            double graphWidth = chromium.eval("document.getElementById('graph').clientWidth").asDouble();
            assertThat(helper.get("w").asDouble()).isLessThan(graphWidth * 0.5);
            chromium.click(helper.get("cx").asDouble(), helper.get("cy").asDouble());
            JsonNode zoomed = box(chromium, "helper");
            // Read the width again: a zoomed graph is shorter, and the page's scroll bar may go with it.
            double zoomedWidth = chromium.eval("document.getElementById('graph').clientWidth").asDouble();
            assertThat(zoomed.get("w").asDouble()).isCloseTo(zoomedWidth, within(2.0));
            assertThat(chromium.eval("document.querySelector('#graph .frame[data-name=\"main\"]').className")
                    .asText()).contains("ancestor");
            assertThat(chromium.eval("document.querySelectorAll('#graph .frame[data-name=\"Outer.leaf\"]').length")
                    .asInt()).isZero();
            assertThat(chromium.eval("document.getElementById('crumbs').textContent").asText())
                    .isEqualTo("all › thread 1240 (MainThread) › <module> › main › helper");
            JsonNode graph = chromium.eval("(() => { const r = document.getElementById('graph')"
                    + ".getBoundingClientRect(); return {x: r.left, y: r.top}; })()");
            chromium.click(graph.get("x").asDouble() + 5, graph.get("y").asDouble() + 9);
            assertThat(chromium.eval("document.getElementById('crumbs').textContent").asText()).isEqualTo("all");

            // search highlights matches and reports their share
            chromium.eval("document.getElementById('search').focus()");
            chromium.type("leaf");
            assertThat(chromium.eval("document.getElementById('matched').textContent").asText())
                    .isEqualTo(String.format("Matched: %d samples (%.2f%%)", LEAF_9 + LEAF_10,
                            100.0 * (LEAF_9 + LEAF_10) / KEPT));
            assertThat(chromium.eval("document.querySelectorAll('#graph .frame.match').length").asInt()).isEqualTo(2);

            // thread filter
            chromium.eval("""
                    (() => { const s = document.getElementById('thread'); s.value = '1';
                      s.dispatchEvent(new Event('change')); })()""");
            assertThat(chromium.eval("[...document.querySelectorAll('#graph .frame')].map(d => d.dataset.name)")
                    .toString()).isEqualTo("[\"thread 1241 (worker-1)\",\"Worker.run\",\"naïve_ß\"]");

            // the worker ran without the GIL in every kept sample: its frames are striped, the legend says why
            assertThat(chromium.eval("[...document.querySelectorAll('#graph .frame.nogil')].map(d => d.dataset.name)")
                    .toString()).isEqualTo("[\"Worker.run\",\"naïve_ß\"]");
            assertThat(chromium.eval("document.getElementById('legend-nogil').hidden").asBoolean()).isFalse();
            JsonNode spin = box(chromium, SPIN.qualifiedName());
            chromium.send("Input.dispatchMouseEvent", java.util.Map.of("type", "mouseMoved",
                    "x", spin.get("cx").asDouble(), "y", spin.get("cy").asDouble()));
            assertThat(chromium.eval("document.getElementById('tooltip').textContent").asText())
                    .contains("GIL released in 100% of these samples");

            assertThat(chromium.errors()).isEmpty();
        }
    }

    @Test
    void theBrowserCheckSeesPageErrors() throws Exception {
        Path broken = dir.resolve("broken.html");
        Files.writeString(broken, "<html><body><script>console.error('boom'); undefinedFunction();</script>");
        try (HeadlessChromium chromium = HeadlessChromium.start(800, 600)) {
            chromium.open(broken.toUri().toString());
            assertThat(chromium.errors()).hasSize(2).anySatisfy(e -> assertThat(e).contains("boom"))
                    .anySatisfy(e -> assertThat(e).contains("undefinedFunction"));
        }
    }

    @Test
    void anEmptyRecordingSaysSo() throws Exception {
        Path file = dir.resolve("empty.html");
        HtmlFlameGraphExporter.builder().build(file).close();
        try (HeadlessChromium chromium = HeadlessChromium.start(800, 600)) {
            chromium.open(file.toUri().toString());
            assertThat(chromium.eval("document.getElementById('empty').hidden").asBoolean()).isFalse();
            assertThat(chromium.errors()).isEmpty();
        }
    }

    /** The widest box named {@code name}: centre and width in page pixels, and the summed width of all of them. */
    static JsonNode box(HeadlessChromium chromium, String name) throws Exception {
        return chromium.eval("""
                (() => { const all = [...document.querySelectorAll('#graph .frame')]
                           .filter(e => e.dataset.name === %s).map(e => e.getBoundingClientRect());
                  if (all.length === 0) return null;
                  const r = all.reduce((a, b) => b.width > a.width ? b : a);
                  return {cx: r.left + r.width / 2, cy: r.top + r.height / 2, w: r.width,
                          total: all.reduce((sum, b) => sum + b.width, 0)}; })()"""
                .formatted(JsonText.string(name)));
    }
}
