package dev.spyglass.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.spyglass.Frame;
import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.export.ExportFormats;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.ExporterProvider;
import dev.spyglass.export.RecordingFormatException;
import dev.spyglass.export.RecordingReader;
import dev.spyglass.export.ThreadGrouping;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code spyglass convert}: writes a recording ({@code .jsonl} or the compact {@code .sgr}, also gzip'ed) in other
 * formats, as
 * {@code record} would have written them directly. Options not given are those the recording was made with.
 */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a recording (.jsonl or the compact .sgr, as `record -o x.jsonl` or `-o x.sgr` writes it; "
                + "also gzip'ed) in other formats.",
                "The profile equals what `record` would have written directly with the same options; options "
                        + "not given are those the recording was made with.",
                "A recording cut short (a killed recording) is converted up to its last whole sample."})
final class ConvertCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "IN", description = "The recording.")
    Path input;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "OUT",
            description = "Output files, each format given by its ending (.html, .json, .pb.gz, ...) or -f.")
    List<Path> outputs = new ArrayList<>();

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT",
            description = "The format of the one OUT, when its ending does not tell it.")
    String format;

    @Option(names = "--idle", negatable = true,
            description = "Keep (--idle) or leave out (--no-idle) idle threads in flame graphs. Default: as recorded.")
    Boolean idle;

    @Option(names = "--no-lines", negatable = true,
            description = "Tell frames apart by function only (--no-lines) or by line (--lines). Default: as recorded.")
    Boolean noLines;

    @Option(names = "--threads", paramLabel = "GROUPING", converter = RecordCommand.ThreadGroupingConverter.class,
            description = "each, name, pattern or all, as for record. Default: as recorded.")
    ThreadGrouping threads;

    @Option(names = "--collapsed-weights",
            description = "collapsed: end lines with microseconds instead of sample counts.")
    boolean collapsedWeights;

    @Option(names = "--no-native", description = "Leave out native frames (and threads that have only those).")
    boolean noNative;

    @Option(names = "--no-kernel", description = "Leave out kernel frames.")
    boolean noKernel;

    @Option(names = "--format-option", paramLabel = "NAME=VALUE",
            description = "A format's own setting (repeatable), e.g. html.title=Nightly.")
    Map<String, String> formatOptions = new LinkedHashMap<>();

    private final PrintStream err;

    ConvertCommand(PrintStream err) {
        this.err = err;
    }

    @Override
    public Integer call() {
        List<ExporterProvider> formats;
        try {
            formats = ProfileOutputs.formats(ExportFormats.installed(), format, outputs);
        } catch (IllegalArgumentException e) {
            err.println("spyglass convert: " + e.getMessage());
            return Failures.USAGE;
        }
        String unwritable = ProfileOutputs.unwritable(outputs);
        if (unwritable != null) {
            err.println("spyglass: " + unwritable);
            return Failures.OTHER;
        }
        for (Path out : outputs) {
            if (out.toAbsolutePath().normalize().equals(input.toAbsolutePath().normalize())) {
                err.println("spyglass convert: " + out + " is the recording being read");
                return Failures.USAGE;
            }
        }
        try (RecordingReader reader = RecordingReader.open(input)) {
            ProfileOutputs files;
            try {
                files = ProfileOutputs.open(outputs, formats, options(reader.exportOptions()));
            } catch (IllegalArgumentException e) {
                err.println("spyglass convert: " + e.getMessage());
                return Failures.USAGE;
            }
            long samples;
            try {
                samples = reader.drainTo(filter(files));
            } catch (RecordingFormatException e) {
                files.discard();
                err.println(badRecording(e));
                return Failures.BAD_RECORDING;
            } catch (IOException | UncheckedIOException e) {
                files.discard();
                throw e;
            }
            if (reader.truncated()) {
                err.printf(Locale.ROOT, "spyglass: %s was cut short (its last record is incomplete, as when a "
                        + "recording is killed): converted the %,d samples before it%n", input, reader.samplesRead());
            }
            boolean written = files.finish(err);
            files.reportWritten(err, "");
            if (!written) {
                return Failures.OTHER;
            }
            if (reader.samplesRead() == 0) {
                err.println("spyglass: no samples in " + input + ": the profiles are empty");
                return Failures.NO_SAMPLES;
            }
            err.printf(Locale.ROOT, "spyglass: converted %,d samples from %s%n", samples, input);
            return 0;
        } catch (RecordingFormatException e) {
            err.println(badRecording(e));
            return Failures.BAD_RECORDING;
        } catch (IOException | UncheckedIOException e) {
            IOException cause = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            err.println("spyglass: cannot convert " + input + ": " + OutputFile.reason(cause));
            return Failures.OTHER;
        }
    }

    private String badRecording(RecordingFormatException e) {
        // A compact recording is told by its first bytes: an error with a byte offset is in one.
        String kind = e.byteOffset() >= 0 ? "a compact recording as record -o x.sgr writes"
                : "JSON lines as record -o x.jsonl writes";
        return "spyglass: " + input + " is not a Spyglass recording (" + kind + "): " + e.getMessage();
    }

    /** The recording's options with those given here in their place. */
    private ExportOptions options(ExportOptions recorded) {
        ExportOptions.Builder b = recorded.toBuilder();
        if (idle != null) {
            b.includeIdle(idle);
        }
        if (noLines != null) {
            b.lineNumbers(!noLines);
        }
        if (threads != null) {
            b.threads(threads);
        }
        if (collapsedWeights) {
            b.property("collapsed.value", "weight");
        }
        formatOptions.forEach(b::property);
        return b.build();
    }

    /** {@code sink}, or a sink leaving out the frames {@code --no-native} and {@code --no-kernel} name. */
    private SampleSink filter(SampleSink sink) {
        if (!noNative && !noKernel) {
            return sink;
        }
        return sample -> {
            if (noNative && sample.interpreterId() < 0) {
                return; // a thread with no Python state: native frames only
            }
            List<Frame> kept = new ArrayList<>(sample.frames().size());
            for (Frame f : sample.frames()) {
                boolean native_ = f.kind() == Frame.FrameKind.NATIVE || f.equals(Frame.NATIVE_FRAMES_UNKNOWN);
                if (!(noNative && native_) && !(noKernel && f.kind() == Frame.FrameKind.KERNEL)) {
                    kept.add(f);
                }
            }
            if (kept.size() == sample.frames().size()) {
                sink.accept(sample);
                return;
            }
            ThreadStack t = sample.thread();
            sink.accept(new StackSample(new ThreadStack(t.pid(), t.nativeThreadId(), t.threadStartTime(),
                    t.pythonThreadId(), t.threadName(), t.interpreterId(), t.state(), t.gilHeld(), kept),
                    sample.timestampNanos(), sample.weightNanos()));
        };
    }
}
