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
 * # container: 3f2a9c1b2d4e
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
 * {@code mode} line says) in microseconds; in memory mode ({@code # mode: memory}) the change of resident memory in
 * bytes, negative for a release (the sample's {@link Frame#MEMORY_RELEASED} frame is not written), as Austin's
 * {@code -m} writes it; in faults mode the bytes faulted in (also under {@code # mode: memory}). Every sample is
 * written, idle ones and those without frames too (as Austin does without {@code -e}). {@code ;} and line breaks in names become {@code _}, and so does
 * {@code :} in function names (a C++ symbol's {@code ::} too), so a frame always splits at its last two colons; other control characters
 * become {@code \x1b}-style escapes and a backslash {@code \\} ({@link ControlCharacters}). Metadata that is unknown is
 * left out, except {@code mode}, which readers require: {@code wall} when unknown. {@code container} (the short id)
 * is there only when the target runs in a container: Austin's format has no container level (Austin names no
 * container), and its readers keep a metadata line they do not know as a key and a value.
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
    /** The metadata's mode is memory (RSS changes) or faults: metrics are bytes. Set with the header. */
    private boolean memory;
    private boolean faults;

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
        // Page faults have no Austin mode: their metric is bytes too, so readers take them as memory.
        String mode = m.mode().isEmpty() ? "wall" : m.mode().equals("gil") ? "cpu"
                : m.mode().equals("page_faults") ? "memory" : m.mode();
        memory = m.mode().equals("memory");
        faults = m.mode().equals("page_faults");
        w.write("# mode: " + mode + "\n");
        if (!m.pythonVersion().isEmpty()) {
            w.write("# python: " + m.pythonVersion() + "\n");
        }
        if (!m.container().isEmpty()) {
            w.write("# container: " + m.container() + "\n");
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
        // Memory mode: Austin writes a release as a negative metric; the marker frame is not written.
        int outermost = memory && !frames.isEmpty() && frames.getLast().equals(Frame.MEMORY_RELEASED)
                ? frames.size() - 2 : frames.size() - 1;
        for (int i = outermost; i >= 0; i--) {
            line.append(frameTexts.text(frames.get(i)));
        }
        line.append(' ').append(metric(s)).append('\n');
        w.append(line);
    }

    /**
     * The sample's metric: time in microseconds; in memory mode (Austin's {@code -m}) the change of resident
     * memory in bytes, negative for a release, as Austin writes it ({@code py_proc.c}: statm's resident pages
     * times the page size, minus the previous reading); in faults mode the bytes faulted in.
     */
    private long metric(StackSample s) {
        long w = Math.max(0, s.weightNanos());
        if (!memory && !faults) {
            return Math.round(w / 1000.0);
        }
        return memory && !s.frames().isEmpty() && s.frames().getLast().equals(Frame.MEMORY_RELEASED) ? -w : w;
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
