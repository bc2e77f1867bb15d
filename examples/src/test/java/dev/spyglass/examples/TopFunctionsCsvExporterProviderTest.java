package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.testsupport.ModuleSmoke;

/** The example of a user's format is registered as a service and found like the built-in ones. */
class TopFunctionsCsvExporterProviderTest {

    @Test
    void isFoundByNameAndByEndingAfterTheBuiltInFormats() {
        ExportFormats formats = ExportFormats.installed();
        ExporterProvider top = formats.byName("top-csv").orElseThrow();
        assertThat(top).isInstanceOf(TopFunctionsCsvExporterProvider.class);
        assertThat(formats.forFileName("run.top.csv")).containsSame(top);
        assertThat(formats.forFileName("RUN.CSV")).containsSame(top);
        assertThat(formats.names()).containsExactly("html", "speedscope", "pprof", "collapsed", "austin", "mojo",
                "jsonl", "gecko", "chrome", "sgr", "top-csv");
    }

    @Test
    void theModuleProvidesIt() throws Exception {
        assertThat(ModuleSmoke.assertModuleDescriptor("dev.spyglass.examples", java.util.Set.of()).provides())
                .anySatisfy(p -> {
                    assertThat(p.service()).isEqualTo(ExporterProvider.class.getName());
                    assertThat(p.providers()).containsExactly(TopFunctionsCsvExporterProvider.class.getName());
                });
    }

    @Test
    void theLimitPropertyCapsTheRows() throws Exception {
        Frame leaf = Frame.python("leaf", "leaf", "/app/x.py", 3);
        Frame other = Frame.python("other", "other", "/app/x.py", 7);
        Frame main = Frame.python("main", "main", "/app/x.py", 10);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter csv = new TopFunctionsCsvExporterProvider().create(out,
                ExportOptions.builder().property(TopFunctionsCsvExporterProvider.LIMIT, "2").build())) {
            assertThat(csv.formatName()).isEqualTo("top-csv");
            for (Frame f : List.of(leaf, leaf, leaf, other)) {
                csv.accept(new StackSample(new ThreadStack(1, 2, 3, "MainThread", 0, ThreadState.RUNNING, null,
                        List.of(f, main)), 0, 1000));
            }
        }
        assertThat(out.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
                "function,file,own_samples,total_samples,own_percent,total_percent",
                "leaf,/app/x.py,3,3,75.00,75.00",
                "other,/app/x.py,1,1,25.00,25.00");

        assertThatThrownBy(() -> new TopFunctionsCsvExporterProvider().create(OutputStream.nullOutputStream(),
                ExportOptions.builder().property("top-csv.limit", "many").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("top-csv.limit must be a whole number, not 'many'");
    }
}
