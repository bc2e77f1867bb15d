package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.feed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;

class BuiltInExporterProvidersTest {

    @Test
    void everyExporterReportsItsFormatsName() {
        var out = java.io.OutputStream.nullOutputStream();
        assertThat(List.of(CollapsedExporter.builder().build(out), AustinExporter.builder().build(out),
                MojoExporter.builder().build(out),
                JsonLinesExporter.builder().build(out), SpeedscopeExporter.builder().build(out),
                PprofExporter.builder().build(out), HtmlFlameGraphExporter.builder().build(out),
                GeckoProfileExporter.builder().build(out), ChromeTraceExporter.builder().build(out),
                CompactRecordingExporter.builder().build(out)))
                .extracting(Exporter::formatName)
                .containsExactly("collapsed", "austin", "mojo", "jsonl", "speedscope", "pprof", "html", "gecko", "chrome",
                        "sgr");
        assertThat(List.of(new CollapsedExporterProvider(), new AustinExporterProvider(),
                new MojoExporterProvider(),
                new JsonLinesExporterProvider(), new SpeedscopeExporterProvider(), new PprofExporterProvider(),
                new HtmlFlameGraphExporterProvider(), new GeckoProfileExporterProvider(),
                new ChromeTraceExporterProvider(), new CompactRecordingExporterProvider()))
                .allSatisfy(p -> assertThat(p.create(out, ExportOptions.defaults()).formatName())
                        .isEqualTo(p.formatName()));
    }

    @Test
    void theCollapsedValuePropertyChoosesCountsOrMicroseconds() throws Exception {
        String byDefault = collapsed(ExportOptions.defaults());
        assertThat(collapsed(ExportOptions.builder().property(CollapsedExporterProvider.VALUE, "samples").build()))
                .isEqualTo(byDefault);
        assertThat(byDefault).contains(";Outer.leaf (/app/x.py:9) " + SyntheticProfile.LEAF_9 + "\n");
        assertThat(collapsed(ExportOptions.builder().property(CollapsedExporterProvider.VALUE, "weight").build()))
                .contains(";Outer.leaf (/app/x.py:9) " + SyntheticProfile.LEAF_9 * SyntheticProfile.WEIGHT / 1000
                        + "\n");
        assertThatThrownBy(() -> collapsed(ExportOptions.builder().property("collapsed.value", "ms").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(
                        "collapsed.value must be samples or weight, not 'ms'");
    }

    @Test
    void sharedOptionsReachTheExporter() throws Exception {
        String withoutLines = collapsed(ExportOptions.builder().lineNumbers(false).includeIdle(true).build());
        assertThat(withoutLines).contains(";Outer.leaf (/app/x.py) " + (SyntheticProfile.LEAF_9
                + SyntheticProfile.LEAF_10) + "\n").contains("Condition.wait");
    }

    @Test
    void theHtmlTitlePropertyNamesThePage() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(new HtmlFlameGraphExporterProvider().create(out,
                ExportOptions.builder().property(HtmlFlameGraphExporterProvider.TITLE, "nightly <job>").build()));
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("nightly &lt;job&gt;");
    }

    private static String collapsed(ExportOptions options) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(new CollapsedExporterProvider().create(out, options));
        return out.toString(StandardCharsets.UTF_8);
    }
}
