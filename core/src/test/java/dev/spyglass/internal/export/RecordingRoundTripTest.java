package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.StackSample;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.RecordingReader;
import dev.spyglass.export.ThreadGrouping;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The library's round trip on a real process: its samples written to {@code jsonl} and read back by
 * {@link RecordingReader} are equal, field by field, to those the sampler delivered, and every installed format
 * written from the read-back samples is byte for byte the file written from the sampler's. The same for the
 * compact ({@code sgr}) recording of the samples.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("cpu-bound-target")
class RecordingRoundTripTest {

    @TempDir
    Path dir;

    @ForEachPython
    void aRecordingReadBackWritesEveryFormatAsTheSamplerDidOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        RealProcessExportTest.Recording r = RealProcessExportTest.record(py, dir, 2);
        roundTrip(r.samples(), r.metadata());
        // The same samples as a containerised target's: the header keeps the container, so every format's
        // container level comes out of a conversion as it does from the sampler.
        String converted = roundTrip(r.samples(), r.metadata().toBuilder().container("3f2a9c1b2d4e").build());
        assertThat(converted).startsWith("container 3f2a9c1b2d4e;process ");
    }

    /** The round trip of every format with this metadata; returns the collapsed file. */
    private static String roundTrip(List<StackSample> samples, ProfileMetadata metadata) throws Exception {
        ExportOptions options = ExportOptions.builder().metadata(metadata).includeIdle(true)
                .threads(ThreadGrouping.NAME).build();
        ExportFormats formats = ExportFormats.installed();

        ByteArrayOutputStream jsonl = new ByteArrayOutputStream();
        write(formats.byName("jsonl").orElseThrow(), jsonl, options, samples);
        List<StackSample> readBack = new ArrayList<>();
        ExportOptions recorded;
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(jsonl.toByteArray()))) {
            recorded = in.exportOptions();
            in.drainTo(readBack::add);
            assertThat(in.metadata()).isEqualTo(metadata);
            assertThat(in.truncated()).isFalse();
        }
        assertThat(readBack).containsExactlyElementsOf(samples);
        assertThat(recorded.includeIdle()).isTrue();
        assertThat(recorded.threads()).isEqualTo(ThreadGrouping.NAME);

        // The compact recording of the same samples reads back the same, in a tenth of the bytes or less.
        ByteArrayOutputStream compact = new ByteArrayOutputStream();
        write(formats.byName("sgr").orElseThrow(), compact, options, samples);
        List<StackSample> fromCompact = new ArrayList<>();
        try (RecordingReader in = RecordingReader.of(new ByteArrayInputStream(compact.toByteArray()))) {
            in.drainTo(fromCompact::add);
            assertThat(in.metadata()).isEqualTo(metadata);
            assertThat(in.exportOptions().threads()).isEqualTo(ThreadGrouping.NAME);
            assertThat(in.truncated()).isFalse();
        }
        assertThat(fromCompact).containsExactlyElementsOf(samples);
        System.out.printf("%d samples, jsonl %d bytes, sgr %d bytes (1/%.1f)%n", samples.size(),
                jsonl.size(), compact.size(), (double) jsonl.size() / compact.size());
        if (samples.size() >= 1000) {
            // (fewer samples, from a starved target, leave the tables a larger share: no figure to hold then)
            assertThat(compact.size() * 10L).isLessThanOrEqualTo(jsonl.size());
        }

        String collapsed = null;
        for (ExporterProvider format : formats.all()) {
            ByteArrayOutputStream direct = new ByteArrayOutputStream();
            write(format, direct, options, samples);
            ByteArrayOutputStream converted = new ByteArrayOutputStream();
            write(format, converted, recorded, readBack);
            assertThat(Arrays.equals(direct.toByteArray(), converted.toByteArray()))
                    .as("%s from the read-back recording equals the direct one", format.formatName()).isTrue();
            if (format.formatName().equals(CollapsedExporter.FORMAT_NAME)) {
                collapsed = converted.toString(java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return collapsed;
    }

    private static void write(ExporterProvider format, ByteArrayOutputStream out, ExportOptions options,
            List<StackSample> samples) throws Exception {
        try (Exporter e = format.create(out, options)) {
            samples.forEach(e::accept);
        }
    }
}
