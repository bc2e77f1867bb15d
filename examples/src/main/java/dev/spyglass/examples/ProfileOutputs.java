package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.ProfileMetadata;

/**
 * The profile files one {@code record} or {@code convert} writes ({@code -o a.html -o b.pb.gz}): every sample goes
 * to each format's exporter, and each file is written under a temporary name and renamed over its target when
 * complete ({@link OutputFile}). A file whose writing fails is discarded alone; the others are still written.
 */
final class ProfileOutputs implements SampleSink {

    /** One output: where, in which format, its temporary file and its exporter. */
    record Output(Path path, ExporterProvider format, OutputFile file, Exporter exporter) {
    }

    private final List<Output> outputs;
    private final List<Output> written = new ArrayList<>();
    private final HeldMetadata metadata;

    private ProfileOutputs(List<Output> outputs, HeldMetadata metadata) {
        this.outputs = List.copyOf(outputs);
        this.metadata = metadata;
    }

    /**
     * The live metadata, but one value for every exporter while a sample is handed to them all: the recordings
     * (jsonl, sgr) write the metadata as known at their first sample, and a duration read a moment later by
     * the next exporter would make the two recordings, and what convert makes of them, differ.
     */
    private static final class HeldMetadata implements Supplier<ProfileMetadata> {
        private final Supplier<ProfileMetadata> live;
        private volatile boolean holding;
        private volatile ProfileMetadata held;

        HeldMetadata(Supplier<ProfileMetadata> live) {
            this.live = live;
        }

        void hold() {
            held = null;
            holding = true;
        }

        void release() {
            holding = false;
            held = null;
        }

        @Override
        public ProfileMetadata get() {
            if (!holding) {
                return live.get();
            }
            ProfileMetadata m = held;
            if (m == null) {
                m = live.get();
                held = m;
            }
            return m;
        }
    }

    /**
     * The format of each output: {@code format} when given (only with one output: several files are told apart
     * by their endings), else the one each file's ending selects.
     *
     * @throws IllegalArgumentException naming the format or file that cannot be told
     */
    static List<ExporterProvider> formats(ExportFormats formats, String format, List<Path> paths) {
        if (format != null) {
            if (paths.size() > 1) {
                throw new IllegalArgumentException("-f names the format of one output file; with several, each "
                        + "file's ending gives its format");
            }
            return List.of(formats.byName(format).orElseThrow(() -> new IllegalArgumentException(
                    "unknown format '" + format + "' (" + String.join(", ", formats.names()) + ")")));
        }
        List<ExporterProvider> chosen = new ArrayList<>();
        for (Path p : paths) {
            chosen.add(formats.forFileName(p.getFileName().toString()).orElseThrow(() ->
                    new IllegalArgumentException("cannot tell the format from '" + p.getFileName()
                            + "': use -f or one of " + String.join(" ", formats.all().stream()
                                    .flatMap(f -> f.fileExtensions().stream()).toList()))));
        }
        return chosen;
    }

    /** The first output in {@code paths} that cannot be written, as {@code cannot write X: why}, or null. */
    static String unwritable(List<Path> paths) {
        for (int i = 0; i < paths.size(); i++) {
            Path p = paths.get(i);
            String why = OutputFile.unwritable(p);
            if (why != null) {
                return "cannot write " + p + ": " + why;
            }
            for (int j = 0; j < i; j++) {
                if (paths.get(j).toAbsolutePath().normalize().equals(p.toAbsolutePath().normalize())) {
                    return "cannot write " + p + " twice";
                }
            }
        }
        return null;
    }

    /**
     * Creates every exporter on its temporary file. On a failure the files created so far are discarded.
     *
     * @throws IOException              when a file cannot be created
     * @throws IllegalArgumentException when a format refuses one of its properties
     */
    static ProfileOutputs open(List<Path> paths, List<ExporterProvider> formats, ExportOptions options)
            throws IOException {
        HeldMetadata metadata = new HeldMetadata(options.metadataSource());
        options = options.toBuilder().metadata(metadata).build();
        List<Output> opened = new ArrayList<>();
        try {
            for (int i = 0; i < paths.size(); i++) {
                OutputFile file = new OutputFile(paths.get(i));
                try {
                    opened.add(new Output(paths.get(i), formats.get(i), file,
                            ExportFormats.create(formats.get(i), file.temporary(), options)));
                } catch (IOException e) {
                    file.discard();
                    throw new IOException("cannot write " + paths.get(i) + ": " + OutputFile.reason(e), e);
                } catch (RuntimeException e) {
                    file.discard();
                    throw e;
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Output o : opened) {
                try {
                    o.exporter().close();
                } catch (IOException | RuntimeException ignored) {
                    // discarded anyway
                }
                o.file().discard();
            }
            throw e;
        }
        return new ProfileOutputs(opened, metadata);
    }

    List<Output> outputs() {
        return outputs;
    }

    @Override
    public void accept(StackSample sample) {
        metadata.hold();
        try {
            for (Output o : outputs) {
                o.exporter().accept(sample);
            }
        } finally {
            metadata.release();
        }
    }

    /**
     * Closes every exporter and renames each complete file over its target; a file that fails is discarded and
     * said in one line. Returns whether every file was written.
     */
    boolean finish(PrintStream err) {
        boolean all = true;
        for (Output o : outputs) {
            try {
                o.exporter().close();
            } catch (IOException | RuntimeException e) {
                err.println("spyglass: writing " + o.path() + " failed: " + e.getMessage());
                o.file().discard();
                all = false;
                continue;
            }
            try {
                o.file().commit();
                written.add(o);
            } catch (IOException e) {
                err.println("spyglass: cannot write " + o.path() + ": " + OutputFile.reason(e));
                all = false;
            }
        }
        return all;
    }

    /** Removes every temporary file not yet renamed; nothing happens to those already written. */
    void discard() {
        outputs.forEach(o -> o.file().discard());
    }

    /** {@code spyglass: wrote html profile to /abs/a.html}, one line per file written. */
    void reportWritten(PrintStream err, String adjective) {
        for (Output o : written) {
            {
                err.println(String.format(Locale.ROOT, "spyglass: wrote %s%s profile to %s", adjective,
                        o.format().formatName(), o.path().toAbsolutePath()));
            }
        }
    }
}
