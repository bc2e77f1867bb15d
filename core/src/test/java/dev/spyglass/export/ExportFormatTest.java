package dev.spyglass.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

class ExportFormatTest {

    @Test
    void infersTheFormatFromTheFileName() {
        assertThat(ExportFormat.forFileName("demo.html")).contains(ExportFormat.HTML);
        assertThat(ExportFormat.forFileName("DEMO.HTM")).contains(ExportFormat.HTML);
        assertThat(ExportFormat.forFileName("p.json")).contains(ExportFormat.SPEEDSCOPE);
        assertThat(ExportFormat.forFileName("p.speedscope.json")).contains(ExportFormat.SPEEDSCOPE);
        assertThat(ExportFormat.forFileName("cpu.pb.gz")).contains(ExportFormat.PPROF);
        assertThat(ExportFormat.forFileName("cpu.pprof")).contains(ExportFormat.PPROF);
        assertThat(ExportFormat.forFileName("x.collapsed")).contains(ExportFormat.COLLAPSED);
        assertThat(ExportFormat.forFileName("x.txt")).contains(ExportFormat.COLLAPSED);
        assertThat(ExportFormat.forFileName("x.austin")).contains(ExportFormat.AUSTIN);
        assertThat(ExportFormat.forFileName("x.jsonl")).contains(ExportFormat.JSONL);
        assertThat(ExportFormat.forFileName("x.gz")).isEmpty();
        assertThat(ExportFormat.forFileName("html")).isEmpty();
    }

    @Test
    void everyExporterReportsItsFormatsName() {
        var out = java.io.OutputStream.nullOutputStream();
        assertThat(List.of(CollapsedExporter.builder().build(out), AustinExporter.builder().build(out),
                JsonLinesExporter.builder().build(out), SpeedscopeExporter.builder().build(out),
                PprofExporter.builder().build(out), HtmlFlameGraphExporter.builder().build(out)))
                .extracting(Exporter::formatName)
                .containsExactly("collapsed", "austin", "jsonl", "speedscope", "pprof", "html");
        assertThat(ExportFormat.byName("PPROF")).contains(ExportFormat.PPROF);
        assertThat(ExportFormat.byName("svg")).isEmpty();
    }

    @Test
    void metadataComputesTheTornRateAndQuotesTheCommand() {
        ProfileMetadata m = ProfileMetadata.builder().command(List.of("python3", "my script.py", "it's", ""))
                .samples(995).tornSamples(5).interval(Duration.ofMillis(1)).build();
        assertThat(m.tornRate()).isEqualTo(0.005);
        assertThat(m.commandLine()).isEqualTo("python3 'my script.py' 'it'\\''s' ''");
        assertThat(ProfileMetadata.UNKNOWN.tornRate()).isNaN();
        assertThat(ProfileMetadata.UNKNOWN.commandLine()).isEmpty();
        assertThat(m.toBuilder().build()).isEqualTo(m);
    }
}
