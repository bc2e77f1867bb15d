package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;

/**
 * JSON lines: one JSON object per sample, one sample per line, in the order received, between a header line and
 * an end line that carry the recording's metadata ({@link dev.spyglass.export.RecordingReader} reads it all back).
 * This shape is stable (fields may be added, never renamed or removed):
 *
 * <pre>{@code
 * {"type":"recording","version":2,"producer":"spyglass 0.1.0","metadata":{...},
 *  "options":{"idle":false,"lines":true,"threads":"pattern","properties":{}}}
 * {"pid":1234,"tid":1240,"thread":"MainThread","ts":1763760000123456789,"weight_ns":1000000,"state":"running",
 *  "gil":true,"python_tid":140230,"interpreter":0,"thread_start":81234,
 *  "frames":[{"kind":"python","function":"leaf","qualname":"Outer.leaf","file":"/app/x.py","line":9,
 *             "first_line":8,"end_line":9,"column":8,"end_column":20},...]}
 * {"type":"end","metadata":{"command":["python3","x.py"],"pid":1234,"python":"3.12.1","mode":"wall",
 *  "interval_ns":1000000,"start_ns":1763760000000000000,"duration_ns":3000000000,"samples":5890,"torn":3,
 *  "dropped":0,"rate":998.5}}
 * }</pre>
 *
 * When the target runs in a container ({@link dev.spyglass.export.ProfileMetadata#container()}), each line also
 * names it after the pid: {@code {"pid":1234,"container":"cdbcfc838834","tid":...}} (the short id), and the
 * header's and end line's metadata end with {@code "container":"cdbcfc838834"}, which a conversion keeps.
 *
 * A sample line has no {@code type}; other lines do (a reader skips types it does not know). The header's
 * metadata is as known at the first sample, the end line's is final; the header's options are the
 * {@link dev.spyglass.export.ExportOptions} the recording was given (this format applies none of them), so a
 * conversion can write what the recording would have written directly. {@code jsonl.metadata=false} leaves both
 * lines out (version 1 of this format: sample lines only).
 *
 * <p>{@code tid} is the kernel thread id, or the Python thread id when the kernel one is unknown, in which case
 * {@code native_tid} is -1 (the field is written only then); {@code python_tid} is the Python ident
 * ({@code threading.get_ident()}, as a signed 64-bit number); {@code interpreter} the (sub-)interpreter id;
 * {@code thread_start} the thread's start time in clock ticks after boot (absent when unknown). {@code ts} is
 * nanoseconds since the Unix epoch; {@code state} is {@code running}, {@code idle} or {@code unknown};
 * {@code gil} is {@code true}, {@code false} or {@code null} (unknown, or a build without a GIL);
 * {@code frames} is innermost first and may be empty. A frame's {@code kind} is {@code python}, {@code native},
 * {@code kernel} or {@code pseudo}; {@code first_line}, {@code end_line}, {@code column} and {@code end_column}
 * are written when known (3.11+ for the last three). A native frame (a C function, when native frames are
 * sampled) has the symbol as {@code function} and {@code qualname}, the object's path as {@code file}, its file
 * name as {@code library} (only native frames have it) and line 0:
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
    /** The property that turns the header and end lines off: {@code jsonl.metadata=false}. */
    public static final String METADATA_PROPERTY = "jsonl.metadata";
    /** The {@code type} of the first line. */
    public static final String HEADER_TYPE = "recording";
    /** The {@code type} of the last line. */
    public static final String END_TYPE = "end";
    /** The header's {@code version}: 2 adds the header and end lines and the thread and frame fields to 1. */
    public static final int VERSION = 2;

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
        sb.append(",\"line\":").append(f.line());
        // Written only when known, so frames of versions without them (before 3.11) stay as short as before.
        if (f.firstLine() > 0) {
            sb.append(",\"first_line\":").append(f.firstLine());
        }
        if (f.endLine() > 0) {
            sb.append(",\"end_line\":").append(f.endLine());
        }
        if (f.column() >= 0) {
            sb.append(",\"column\":").append(f.column());
        }
        if (f.endColumn() >= 0) {
            sb.append(",\"end_column\":").append(f.endColumn());
        }
        return sb.append('}').toString();
    });
    private final boolean withMetadata;
    private final ThreadGrouping threads;
    private final Map<String, String> properties;
    private boolean headerWritten;

    private JsonLinesExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.w = utf8Writer(out);
        this.withMetadata = options.withMetadata;
        this.threads = options.threads;
        this.properties = new TreeMap<>(options.properties);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample s) throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
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
                .append(",\"python_tid\":").append(s.pythonThreadId())
                .append(",\"interpreter\":").append(s.interpreterId());
        if (s.threadStartTime() >= 0) {
            sb.append(",\"thread_start\":").append(s.threadStartTime());
        }
        if (s.nativeThreadId() < 0) {
            // "tid" then holds the Python ident (kept so for readers of the first version of this format).
            sb.append(",\"native_tid\":").append(s.nativeThreadId());
        }
        sb.append(",\"frames\":[");
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

    /**
     * The first line: the metadata as known when the first sample came (or at close, for a recording without
     * samples) and the export options the recording was made with.
     */
    private void writeHeader() throws IOException {
        headerWritten = true;
        if (!withMetadata) {
            return;
        }
        StringBuilder sb = new StringBuilder(512);
        sb.append("{\"type\":\"").append(HEADER_TYPE).append("\",\"version\":").append(VERSION).append(",\"producer\":");
        JsonText.string(sb, SpyglassVersion.PRODUCER).append(",\"metadata\":");
        metadataJson(sb, metadataNow());
        sb.append(",\"options\":{\"idle\":").append(includeIdle).append(",\"lines\":").append(lineNumbers)
                .append(",\"threads\":\"").append(threads.name().toLowerCase(Locale.ROOT)).append("\",\"properties\":{");
        boolean first = true;
        for (Map.Entry<String, String> e : properties.entrySet()) {
            sb.append(first ? "" : ",");
            first = false;
            JsonText.string(sb, e.getKey()).append(':');
            JsonText.string(sb, e.getValue());
        }
        w.append(sb.append("}}}\n"));
    }

    static void metadataJson(StringBuilder sb, ProfileMetadata m) {
        sb.append("{\"command\":[");
        for (int i = 0; i < m.command().size(); i++) {
            JsonText.string(sb.append(i == 0 ? "" : ","), m.command().get(i));
        }
        sb.append("],\"pid\":").append(m.pid()).append(",\"python\":");
        JsonText.string(sb, m.pythonVersion()).append(",\"mode\":");
        JsonText.string(sb, m.mode()).append(",\"interval_ns\":").append(m.interval().toNanos())
                .append(",\"start_ns\":").append(m.startEpochNanos())
                .append(",\"duration_ns\":").append(m.duration().toNanos())
                .append(",\"samples\":").append(m.samples())
                .append(",\"torn\":").append(m.tornSamples())
                .append(",\"dropped\":").append(m.droppedSamples())
                .append(",\"rate\":").append(JsonText.number(m.achievedRate()));
        if (!m.container().isEmpty()) {
            // Only when there is one, so a recording outside containers stays as it was.
            sb.append(",\"container\":");
            JsonText.string(sb, m.container());
        }
        sb.append('}');
    }

    @Override
    void finish() throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        if (withMetadata) {
            // The final figures (duration, counts), asked for now as every exporter asks at close.
            StringBuilder sb = new StringBuilder(512).append("{\"type\":\"").append(END_TYPE).append("\",\"metadata\":");
            metadataJson(sb, metadataNow());
            w.append(sb.append("}\n"));
        }
        w.flush();
    }

    /**
     * The shared options are not applied (every sample is written as it came) but recorded in the header, with
     * the format properties, so a conversion writes what a direct recording would have.
     */
    public static final class Builder extends ExporterBuilder<Builder, JsonLinesExporter> {
        private boolean withMetadata = true;
        private Map<String, String> properties = Map.of();

        private Builder() {
        }

        /**
         * Whether the header and end lines are written ({@code true}, the default), or only sample lines (the
         * first version of this format; {@value #METADATA_PROPERTY}{@code =false}).
         */
        public Builder withMetadata(boolean withMetadata) {
            this.withMetadata = withMetadata;
            return this;
        }

        /** The format properties recorded in the header (every format's, as given to the recording). */
        public Builder properties(Map<String, String> properties) {
            this.properties = Map.copyOf(properties);
            return this;
        }

        @Override
        public JsonLinesExporter build(OutputStream out) {
            return new JsonLinesExporter(out, this);
        }
    }
}
