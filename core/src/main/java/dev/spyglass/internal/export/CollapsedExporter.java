package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.Map;

import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * Brendan Gregg's folded stacks, the input of {@code flamegraph.pl}, inferno and speedscope: one line per
 * distinct stack, frames root first separated by {@code ;}, then a space and the value:
 *
 * <pre>{@code
 * process 1234;thread 1240 (MainThread);<module> (/app/x.py:30);main (/app/x.py:20);Outer.leaf (/app/x.py:9) 412
 * }</pre>
 *
 * The process and the thread are the two outermost frames; when the target runs in a container
 * ({@link dev.spyglass.export.ProfileMetadata#container()}) its short id is one more above them,
 * {@code container 3f2a9c1b2d4e;process 1234;thread 1240 (MainThread);...}. A frame is {@code function (file:line)} with the
 * qualified name where the Python version has one; {@code (file)} when line numbers are dropped. A native frame (a C
 * function, when native frames are sampled) is {@code function (library)}, the object's file name without its
 * directory and never a line ({@code PyObject_Call (libpython3.12.so.1.0)}, {@code qsort (libc.so.6)}); a kernel
 * frame (when kernel frames are sampled) is the kernel's symbol with the suffix {@code _[k]} ({@code vfs_read_[k]}),
 * the annotation {@code stackcollapse-perf.pl --kernel} writes and {@code flamegraph.pl} (its {@code java},
 * {@code perl} and {@code js} palettes) and inferno colour as kernel code; a
 * pseudo-frame its label alone ({@code <interpreter shutdown>}). The value is
 * the sample count by default, or the summed weight in microseconds ({@link Value#WEIGHT_MICROS}); in the memory
 * modes (metadata mode {@code memory} or {@code page_faults}) always the summed bytes, whatever the value option.
 * Characters that would break a line's structure ({@code ;} and line breaks) are replaced by {@code _}; other control
 * characters are written as {@code \x1b}-style escapes and a backslash as {@code \\} ({@link ControlCharacters}),
 * so that a target's names cannot drive the terminal that shows the file. Lines come in
 * order of first appearance; samples without frames are left out.
 */
public final class CollapsedExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "collapsed";

    /** What the number at the end of each line counts. */
    public enum Value {
        /** The number of samples of that stack. */
        SAMPLES,
        /** The summed sample weight (wall or CPU time) of that stack, in microseconds, rounded. */
        WEIGHT_MICROS
    }

    /**
     * The suffix of a kernel frame: Linux perf's {@code _[k]}, written by {@code stackcollapse-perf.pl --kernel};
     * {@code flamegraph.pl} colours a name ending in it as kernel code (orange), and so does inferno.
     */
    static final String KERNEL_ANNOTATION = "_[k]";

    private final Value value;
    private final StackCounts counts;

    private CollapsedExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.value = options.value;
        this.counts = new StackCounts(options.lineNumbers, options.threads);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) {
        if (keepsForAggregate(sample)) {
            counts.add(sample);
        }
    }

    @Override
    void finish() throws IOException {
        Writer w = utf8Writer(out);
        StringBuilder line = new StringBuilder(256);
        ProfileMetadata m = metadataNow();
        boolean bytes = weighsBytes(m);
        String container = ThreadKey.containerLabel(m.container());
        for (Map.Entry<StackCounts.Stack, StackCounts.Tally> e : counts.tallies().entrySet()) {
            long n = bytes ? e.getValue().weightNanos
                    : value == Value.SAMPLES ? e.getValue().count : Math.round(e.getValue().weightNanos / 1000.0);
            line.setLength(0);
            ThreadKey thread = e.getKey().thread();
            if (!container.isEmpty()) {
                appendSanitized(line, container);
                line.append(';');
            }
            appendSanitized(line, thread.processLabel());
            line.append(';');
            appendSanitized(line, thread.label());
            for (FrameKey frame : e.getKey().rootFirst()) {
                line.append(';');
                appendSanitized(line, frame.isKernel() ? frame.name() + KERNEL_ANNOTATION : frame.label());
            }
            line.append(' ').append(n).append('\n');
            w.append(line);
        }
        w.flush();
    }

    private static void appendSanitized(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ';' || c == '\n' || c == '\r') {
                sb.append('_');
            } else {
                ControlCharacters.appendEscaped(sb, c);
            }
        }
    }

    /** Options: value (samples or microseconds), line numbers, idle threads, metadata (unused by this format). */
    public static final class Builder extends ExporterBuilder<Builder, CollapsedExporter> {
        private Value value = Value.SAMPLES;

        private Builder() {
        }

        /** What the number ending each line counts; default {@link Value#SAMPLES}. */
        public Builder value(Value value) {
            this.value = java.util.Objects.requireNonNull(value, "value");
            return this;
        }

        @Override
        public CollapsedExporter build(OutputStream out) {
            return new CollapsedExporter(out, this);
        }
    }
}
