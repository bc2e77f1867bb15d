package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.LeakReport;
import dev.spyglass.LeakTracker;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * The leak report's HTML page ({@link LeakReportPage}) from a real leaking target (pyenv 3.12, whose
 * {@code _PyObject_Malloc} sees its allocations): one self-contained file; in headless Chromium its flame graph
 * weighs the surviving bytes (the root holds every stack's), the ranking table puts the leaking function first,
 * and the first plot rises over the run.
 */
class LeakReportPageTest {
    static final String TARGET = String.join("\n",
            "import sys, threading, time",
            "head = None",
            "def leak_forever():",
            "    global head",
            "    while True:",
            "        for i in range(20):",
            "            head = [object(), head]",
            "        time.sleep(0.01)",
            "def churn_forever():",
            "    while True:",
            "        tmp = [object() for i in range(200)]",
            "        del tmp",
            "        time.sleep(0.001)",
            "threading.Thread(target=churn_forever, daemon=True).start()",
            "threading.Thread(target=leak_forever, daemon=True).start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "sys.stdin.read()",
            "");

    @TempDir
    Path dir;

    @Test
    void pageFromARealLeakShowsTheLeakFirstInAHeadlessBrowser() throws Exception {
        TestTools.chromium(); // skips when missing, before the target runs
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        Assumptions.assumeTrue(Sampler.pageFaultsRefusal().isEmpty(), "perf events not permitted here");
        Path script = PythonScripts.write("leaky_page.py", TARGET);
        LeakReport report;
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            try (LeakTracker t = LeakTracker.attach(target.pid())) {
                long end = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < end) {
                    Thread.sleep(5);
                    t.poll();
                }
                report = t.report();
            }
        }
        Assumptions.assumeTrue(report.allocations() > 2_000, "too few allocations seen (load?): " + report.allocations());
        Assumptions.assumeTrue(report.stacks().get(0).suspect(), "no suspect found on this run (load?): " + report);
        Path file = dir.resolve("leaks.html");
        try (OutputStream out = Files.newOutputStream(file)) {
            report.writeHtml(out, 10);
        }
        String html = Files.readString(file, StandardCharsets.UTF_8);
        // Nothing is fetched: no external script, style, font or image (the SVG namespace is no fetch).
        assertThat(html).doesNotContainPattern("(?i)<script[^>]+src=").doesNotContainPattern("(?i)<link")
                .doesNotContainPattern("(?i)<img").doesNotContain("@import")
                .doesNotContainPattern("(?i)(https?:)?//(?!www\\.w3\\.org/2000/svg)[a-z0-9.-]+\\.[a-z]{2,}/");
        long surviving = report.stacks().stream().mapToLong(LeakReport.StackReport::survivingBytes)
                .filter(b -> b > 0).sum();

        try (HeadlessChromium chromium = HeadlessChromium.start(1400, 900)) {
            chromium.open(file.toUri().toString());
            assertThat(chromium.errors()).isEmpty();
            // The flame graph weighs bytes: its root holds every stack's surviving bytes.
            assertThat(chromium.eval("window.spyglassFlameGraph.tree.value").asLong()).isEqualTo(surviving);
            assertThat(chromium.eval("document.querySelector('[data-field=in-graph]').textContent").asText())
                    .endsWith(" bytes");
            assertThat(chromium.eval("document.querySelector('[data-field=allocations-seen]').textContent").asText())
                    .isEqualTo(String.format(java.util.Locale.ROOT, "%,d", report.allocations()));
            assertThat(chromium.eval("document.querySelector('[data-field=interval]') === null").asBoolean()).isTrue();
            assertThat(chromium.eval("document.querySelectorAll('#graph .frame[data-name=\"leak_forever\"]').length")
                    .asInt()).isPositive();
            // The ranking table: the leak first, a suspect, with its bytes; the churner is no suspect.
            JsonNode rows = chromium.eval("[...document.querySelectorAll('#leak-table tbody tr')].map(r =>"
                    + " ({suspect: r.dataset.suspect, bytes: +r.dataset.bytes, text: r.textContent}))");
            assertThat(rows.size()).isPositive();
            assertThat(rows.get(0).get("suspect").asText()).isEqualTo("true");
            assertThat(rows.get(0).get("text").asText()).contains("leak_forever").contains("LEAK SUSPECT");
            assertThat(rows.get(0).get("bytes").asLong()).isEqualTo(report.stacks().get(0).survivingBytes());
            for (JsonNode r : rows) {
                if (r.get("text").asText().contains("churn_forever")) {
                    assertThat(r.get("suspect").asText()).as(r.toString()).isEqualTo("false");
                }
            }
            assertThat(chromium.eval("document.getElementById('leak-meaning').textContent").asText())
                    .contains("Exact level").contains("at least");
            // The first plot is drawn (laid out by the browser) and rises: SVG y grows downwards.
            JsonNode plot = chromium.eval("(() => { const s = document.querySelector('svg.leak-plot[data-rank=\"1\"]');"
                    + " const p = s.querySelector('polyline').points; const b = s.getBoundingClientRect();"
                    + " return {n: p.numberOfItems, first: p.getItem(0).y, last: p.getItem(p.numberOfItems - 1).y,"
                    + " w: b.width, h: b.height}; })()");
            assertThat(plot.get("n").asInt()).isEqualTo(report.snapshotSeconds().length);
            assertThat(plot.get("last").asDouble()).as(plot.toString()).isLessThan(plot.get("first").asDouble());
            assertThat(plot.get("w").asDouble()).isPositive();
            assertThat(plot.get("h").asDouble()).isPositive();
            assertThat(chromium.errors()).isEmpty();
        }
    }
}
