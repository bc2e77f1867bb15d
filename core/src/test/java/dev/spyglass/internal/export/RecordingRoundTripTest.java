package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.StackSample;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.RecordingReader;
import dev.spyglass.export.ThreadGrouping;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The library's round trip on a real process: its samples written to {@code jsonl} and read back by
 * {@link RecordingReader} are equal, field by field, to those the sampler delivered, and every installed format
 * written from the read-back samples is byte for byte the file written from the sampler's.
 */
@ResourceLock("cpu-bound-target")
class RecordingRoundTripTest {

    @TempDir
    Path dir;

    @ForEachPython
    void aRecordingReadBackWritesEveryFormatAsTheSamplerDidOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        RealProcessExportTest.Recording r = RealProcessExportTest.record(py, dir, 2);
        ExportOptions options = ExportOptions.builder().metadata(r.metadata()).includeIdle(true)
                .threads(ThreadGrouping.NAME).build();
        ExportFormats formats = ExportFormats.installed();

        ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
        write(formats.byName("jsonl").orElseThrow(), jsonl, options, r.samples());
        List<StackSample> readBack = new ArrayList<>();
        ExportOptions recorded;
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(jsonl.toByteArray()))) {
            recorded = in.exportOptions();
            in.drainTo(readBack::add);
            assertThat(in.metadata()).isEqualTo(r.metadata());
            assertThat(in.truncated()).isFalse();
        }
        assertThat(readBack).containsExactlyElementsOf(r.samples());
        assertThat(recorded.includeIdle()).isTrue();
        assertThat(recorded.threads()).isEqualTo(ThreadGrouping.NAME);

        for (ExporterProvider format : formats.all()) {
            ByteArrayOutputStream direct = new ByteArrayOutputStream();
            write(format, direct, options, r.samples());
            ByteArrayOutputStream converted = new ByteArrayOutputStream();
            write(format, converted, recorded, readBack);
            assertThat(Arrays.equals(direct.toByteArray(), converted.toByteArray()))
                    .as("%s from the read-back recording equals the direct one", format.formatName()).isTrue();
        }
    }

    private static void write(ExporterProvider format, ByteArrayOutputStream out, ExportOptions options,
            List<StackSample> samples) throws Exception {
        try (Exporter e = format.create(out, options)) {
            samples.forEach(e::accept);
        }
    }
}
