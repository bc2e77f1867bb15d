package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.Locale;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;

/**
 * JSON lines: one JSON object per sample, one sample per line, in the order received. This shape is stable
 * (fields may be added, never renamed or removed):
 *
 * <pre>{@code
 * {"pid":1234,"tid":1240,"thread":"MainThread","ts":1763760000123456789,"weight_ns":1000000,"state":"running",
 *  "gil":true,"frames":[{"kind":"python","function":"leaf","qualname":"Outer.leaf","file":"/app/x.py","line":9},...]}
 * }</pre>
 *
 * When the target runs in a container ({@link dev.spyglass.export.ProfileMetadata#container()}), each line also
 * names it after the pid: {@code {"pid":1234,"container":"cdbcfc838834","tid":...}} (the short id).
 * {@code tid} is the kernel thread id (the Python thread id when the kernel one is unknown); {@code ts} is
 * nanoseconds since the Unix epoch; {@code state} is {@code running}, {@code idle} or {@code unknown};
 * {@code gil} is {@code true}, {@code false} or {@code null} (unknown, or a build without a GIL);
 * {@code frames} is innermost first and may be empty. A frame's {@code kind} is {@code python}, {@code native},
 * {@code kernel} or {@code pseudo}; a native frame (a C function, when native frames are sampled) has the symbol as
 * {@code function} and {@code qualname}, the object's path as {@code file}, its file name as {@code library} (only
 * native frames have it) and line 0:
 *
 * <pre>{@code
 * {"kind":"native","function":"qsort","qualname":"qsort","library":"libc.so.6",
 *  "file":"/usr/lib/x86_64-linux-gnu/libc.so.6","line":0}
 * }</pre>
 *
 * A kernel frame (when kernel frames are sampled) has the kernel's symbol as {@code function} and {@code qualname},
 * {@code [kernel]} as {@code file}, line 0 and no {@code library} (the kernel is no object file of the target):
 *
 * <pre>{@code
 * {"kind":"kernel","function":"vfs_read","qualname":"vfs_read","file":"[kernel]","line":0}
 * }</pre>
 *
 * Every sample is written, idle ones too.
 */
public final class JsonLinesExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "jsonl";

    private final Writer w;
    private final StringBuilder line = new StringBuilder(1024);
    /** The {@code "container"} member (with its comma) or "", fixed at the first sample: a process-level fact. */
    private String containerMember;
    private final FrameTextCache frameTexts = new FrameTextCache(f -> {
        StringBuilder sb = new StringBuilder(128);
        sb.append("{\"kind\":\"").append(f.kind().name().toLowerCase(Locale.ROOT)).append("\",\"function\":");
        JsonText.string(sb, f.function());
        sb.append(",\"qualname\":");
        JsonText.string(sb, f.qualifiedName());
        if (f.kind() == Frame.FrameKind.NATIVE) {
            sb.append(",\"library\":");
            JsonText.string(sb, f.library());
        }
        sb.append(",\"file\":");
        JsonText.string(sb, f.file());
        return sb.append(",\"line\":").append(f.line()).append('}').toString();
    });

    private JsonLinesExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.w = utf8Writer(out);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample s) throws IOException {
        StringBuilder sb = line;
        sb.setLength(0);
        if (containerMember == null) {
            String container = metadataNow().container();
            containerMember = container.isEmpty() ? "" : ",\"container\":" + JsonText.string(container);
        }
        sb.append("{\"pid\":").append(s.pid()).append(containerMember)
                .append(",\"tid\":").append(s.nativeThreadId() >= 0 ? s.nativeThreadId() : s.pythonThreadId())
                .append(",\"thread\":");
        JsonText.string(sb, s.threadName());
        sb.append(",\"ts\":").append(s.timestampNanos())
                .append(",\"weight_ns\":").append(s.weightNanos())
                .append(",\"state\":\"").append(s.state().name().toLowerCase(Locale.ROOT))
                .append("\",\"gil\":").append(s.gilHeld() == null ? "null" : s.gilHeld().toString())
                .append(",\"frames\":[");
        boolean first = true;
        for (Frame f : s.frames()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(frameTexts.text(f));
        }
        sb.append("]}\n");
        w.append(sb);
    }

    @Override
    void finish() throws IOException {
        w.flush();
    }

    /** No options beyond the shared ones, which this raw format ignores. */
    public static final class Builder extends ExporterBuilder<Builder, JsonLinesExporter> {
        private Builder() {
        }

        @Override
        public JsonLinesExporter build(OutputStream out) {
            return new JsonLinesExporter(out, this);
        }
    }
}
