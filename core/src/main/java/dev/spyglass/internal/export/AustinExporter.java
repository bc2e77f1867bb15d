package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * Austin's text format (Austin 3.x, the format {@code austin-python}'s {@code AustinFileReader},
 * {@code austin2speedscope}, austin-tui and Austin's VS Code extension read). Metadata lines come first and
 * last, samples stream in between, one line each, frames root first:
 *
 * <pre>{@code
 * # austin: 3.6.0
 * # spyglass: 0.1.0
 * # interval: 1000
 * # mode: wall
 * # python: 3.12.1
 * P1234;T0:1240;/app/x.py:<module>:30;/app/x.py:main:20;/app/x.py:Outer.leaf:9 1000
 * ...
 * # duration: 2000000
 * # samples: 1987
 * # errors: 3/1990
 * }</pre>
 *
 * The thread part is {@code T<interpreter id>:<kernel thread id>}; a frame is
 * {@code <file>:<qualified name>:<line>}. A native frame is written as Austin's native-frame samplers write theirs
 * ({@code austinp}; {@code austin -n} in Austin's current source): the same three fields, the object's path as the
 * file and the symbol as the function ({@code /usr/lib/x86_64-linux-gnu/libc.so.6:qsort:0}). The third field is 0:
 * {@code austin -n} writes 0 there too, {@code austinp} the offset into the symbol, which Spyglass does not keep. A
 * kernel frame is written as {@code austinp -k} writes one (its {@code SAMPLE_FORMAT_KERNEL}, {@code ;kernel:%s:0}):
 * the file {@code kernel}, the kernel's symbol, line 0 ({@code kernel:vfs_read:0}). A
 * pseudo-frame has an empty file ({@code :<interpreter shutdown>:0}). The metric is the sample's weight (wall or CPU
 * time, as the
 * {@code mode} line says) in microseconds. Every sample is written, idle ones and those without frames too
 * (as Austin does without {@code -e}). {@code ;} and line breaks in names become {@code _}, and so does
 * {@code :} in function names (a C++ symbol's {@code ::} too), so a frame always splits at its last two colons; other control characters
 * become {@code \x1b}-style escapes and a backslash {@code \\} ({@link ControlCharacters}). Metadata that is unknown is
 * left out, except {@code mode}, which readers require: {@code wall} when unknown.
 */
public final class AustinExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "austin";

    /** The Austin text format version this writer follows (the {@code # austin:} line). */
    public static final String AUSTIN_FORMAT_VERSION = "3.6.0";

    /**
     * The file of a kernel frame, as Austin (3.x, {@code austinp -k}, {@code src/argparse.c}) writes it, so a
     * Spyglass file reads like one of austinp's own.
     */
    static final String KERNEL_FILE = "kernel";

    private final Writer w;
    private final StringBuilder line = new StringBuilder(512);
    private final FrameTextCache frameTexts = new FrameTextCache(f -> {
        StringBuilder sb = new StringBuilder(64).append(';');
        appendSanitized(sb, f.kind() == Frame.FrameKind.KERNEL ? KERNEL_FILE : f.file(), false);
        sb.append(':');
        appendSanitized(sb, f.qualifiedName().isEmpty() ? f.function() : f.qualifiedName(), true);
        return sb.append(':').append(Math.max(0, f.line())).toString();
    });
    private boolean headerWritten;

    private AustinExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.w = utf8Writer(out);
    }

    public static Builder builder() {
        return new Builder();
    }

    private void writeHeader() throws IOException {
        headerWritten = true;
        ProfileMetadata m = metadataNow();
        w.write("# austin: " + AUSTIN_FORMAT_VERSION + "\n");
        w.write("# spyglass: " + SpyglassVersion.VERSION + "\n");
        if (!m.interval().isZero()) {
            w.write("# interval: " + m.interval().toNanos() / 1000 + "\n");
        }
        // Austin's modes are wall, cpu, memory and full; its GIL option (-g) is a filter over cpu or wall time.
        String mode = m.mode().isEmpty() ? "wall" : m.mode().equals("gil") ? "cpu" : m.mode();
        w.write("# mode: " + mode + "\n");
        if (!m.pythonVersion().isEmpty()) {
            w.write("# python: " + m.pythonVersion() + "\n");
        }
    }

    @Override
    void write(StackSample s) throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        line.setLength(0);
        line.append('P').append(s.pid()).append(";T").append(s.interpreterId()).append(':')
                .append(Long.toUnsignedString(s.nativeThreadId() >= 0 ? s.nativeThreadId() : s.pythonThreadId()));
        List<Frame> frames = s.frames();
        for (int i = frames.size() - 1; i >= 0; i--) {
            line.append(frameTexts.text(frames.get(i)));
        }
        line.append(' ').append(Math.round(Math.max(0, s.weightNanos()) / 1000.0)).append('\n');
        w.append(line);
    }

    private static void appendSanitized(StringBuilder sb, String s, boolean colon) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ';' || c == '\n' || c == '\r' || (colon && c == ':')) {
                sb.append('_');
            } else {
                ControlCharacters.appendEscaped(sb, c);
            }
        }
    }

    @Override
    void finish() throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        ProfileMetadata m = metadataNow();
        if (!m.duration().isZero()) {
            w.write("# duration: " + m.duration().toNanos() / 1000 + "\n");
        }
        if (m.samples() >= 0) {
            w.write("# samples: " + m.samples() + "\n");
            if (m.tornSamples() >= 0) {
                w.write("# errors: " + m.tornSamples() + "/" + (m.samples() + m.tornSamples()) + "\n");
            }
        }
        w.flush();
    }

    /** Options: metadata (header and footer lines). Idle and line-number options do not apply. */
    public static final class Builder extends ExporterBuilder<Builder, AustinExporter> {
        private Builder() {
        }

        @Override
        public AustinExporter build(OutputStream out) {
            return new AustinExporter(out, this);
        }
    }
}
