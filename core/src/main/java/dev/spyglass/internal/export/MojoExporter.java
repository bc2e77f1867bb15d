package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;

/**
 * Austin's binary MOJO format, version 4 (what Austin 4 writes in its binary mode and austin-tui, austin-web,
 * Austin's VS Code extension and {@code austin-python}'s {@code MojoStreamReader} read). A file is the bytes
 * {@code MOJ} and the version as a varint, then a stream of events, each one byte of event id and its data: strings
 * are NUL-terminated UTF-8, integers varints (six value bits and a sign bit in the first byte, seven in each
 * following one, the high bit saying another byte follows).
 *
 * <p>What this writer emits, in Austin's order:
 * <ul>
 * <li>metadata events (id 1, key and value strings) before the first sample: {@code spyglass} (the version),
 *     {@code mode} ({@code wall} or {@code cpu}; GIL time is written as {@code cpu}, Austin's {@code -g} being a
 *     filter over cpu or wall time), {@code interval} (µs), {@code python}, {@code command}, {@code container}
 *     (the short id, when the target runs in one: Austin's format has no container level, and its readers keep
 *     metadata they do not know as key and value); and after the last
 *     one: {@code duration} (µs), {@code errors} ({@code torn/attempts}, as Austin's), {@code samples},
 *     {@code dropped} and {@code rate} (ticks per second achieved). Unknown values are left out, except
 *     {@code mode}, which readers require ({@code wall} when unknown);</li>
 * <li>per sample a stack event (id 2: pid, interpreter id, thread as the kernel thread id in hex, Austin's
 *     {@code FORMAT_TID}), then the strings (id 11: key, value) and frames (id 3: key, file string key, name
 *     string key, line, end line, column, end column) it uses for the first time in that process, then one frame
 *     reference (id 5: key) per frame, root first, a kernel frame inline (id 6: the symbol) innermost, the time
 *     metric (id 9: the sample's weight in µs) and an idle marker (id 8) when the thread was idle. Austin 4 writes
 *     the marker in its {@code full} mode only; readers take it in any mode.</li>
 * </ul>
 * Keys are per process, as readers resolve them against the pid of the stack event they follow. Python columns
 * are 1-based with 0 for unknown, as Austin decodes CPython 3.11+'s location table (CPython's 0-based column
 * plus one); an unknown end line is 0. A native frame is what Austin 4's native unwinders write: the object's path
 * as the file, the symbol as the name, line and columns 0. A pseudo-frame has an empty file and its label as the
 * name; the {@code <GC>} one also sets the sample's GC flag (id 7), as Austin marks a sample taken while the
 * collector runs. Control characters in names are escaped as in the text formats ({@link ControlCharacters}), so
 * no string holds a NUL. Austin 4's stack-repeat event (id 13, "same base as this thread's last stack") is not
 * used: every stack is written whole, which costs a few bytes per frame reference.
 */
public final class MojoExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "mojo";

    /** The MOJO version written in the header: Austin 4's. */
    public static final int MOJO_VERSION = 4;

    static final int METADATA = 1;
    static final int STACK = 2;
    static final int FRAME = 3;
    static final int FRAME_REF = 5;
    static final int FRAME_KERNEL = 6;
    static final int GC = 7;
    static final int IDLE = 8;
    static final int METRIC_TIME = 9;
    static final int METRIC_MEMORY = 10;
    static final int STRING = 11;

    /**
     * The first string key used. austin-python's reader takes key 1 as {@code <unknown>} without a definition
     * (Austin's key for a name it could not read) and its writer reserves 0 for the empty string.
     */
    static final int FIRST_STRING_KEY = 2;

    /**
     * Past this many distinct frames (or strings) in one process the process's tables start over: later keys are
     * defined again, which readers accept (a definition replaces the earlier one), and the memory stays bounded.
     */
    static final int MAX_ENTRIES = 1 << 16;

    private final Map<Long, Definitions> byPid = new HashMap<>();
    private long lastPid = Long.MIN_VALUE;
    private Definitions lastDefinitions;
    private byte[] buf = new byte[4096];
    private int[] keys = new int[128];
    private int len;
    private boolean headerWritten;
    /** The mode weighs bytes (memory, page faults): the metric is memory, not time. Set with the header. */
    private boolean bytes;

    /** The keys one process's strings and frames were given, as its readers know them. */
    private static final class Definitions {
        final Map<String, Integer> strings = new HashMap<>();
        final Map<Frame, Integer> frames = new HashMap<>();
    }

    private MojoExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
    }

    public static Builder builder() {
        return new Builder();
    }

    private void writeHeader() throws IOException {
        headerWritten = true;
        ProfileMetadata m = metadataNow();
        buf[len++] = 'M';
        buf[len++] = 'O';
        buf[len++] = 'J';
        varint(MOJO_VERSION);
        metadata("spyglass", SpyglassVersion.VERSION);
        // As the .austin text: page faults have no Austin mode; their metric is bytes too, read as memory.
        String mode = m.mode().isEmpty() ? "wall" : m.mode().equals("gil") ? "cpu"
                : m.mode().equals("page_faults") ? "memory" : m.mode();
        bytes = weighsBytes(m);
        metadata("mode", mode);
        if (!m.interval().isZero()) {
            metadata("interval", Long.toString(m.interval().toNanos() / 1000));
        }
        if (!m.pythonVersion().isEmpty()) {
            metadata("python", m.pythonVersion());
        }
        if (!m.command().isEmpty()) {
            metadata("command", m.commandLine());
        }
        if (!m.container().isEmpty()) {
            metadata("container", m.container());
        }
        flushBuffer();
    }

    @Override
    void write(StackSample s) throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        if (s.pid() != lastPid) {
            lastPid = s.pid();
            lastDefinitions = byPid.computeIfAbsent(s.pid(), pid -> new Definitions());
        }
        Definitions defs = lastDefinitions;
        List<Frame> frames = s.frames();
        // Memory mode: a release is written as a negative memory metric, without its <memory released> frame.
        boolean released = bytes && !frames.isEmpty() && frames.getLast().equals(Frame.MEMORY_RELEASED);
        if (released) {
            frames = frames.subList(0, frames.size() - 1);
        }
        if (defs.frames.size() + frames.size() > MAX_ENTRIES || defs.strings.size() + 2 * frames.size() > MAX_ENTRIES) {
            defs.frames.clear();
            defs.strings.clear();
        }
        event(STACK);
        varint(s.pid());
        varint(s.interpreterId());
        string(Long.toHexString(s.nativeThreadId() >= 0 ? s.nativeThreadId() : s.pythonThreadId()));
        // Definitions first, then the references: a reader resolves a frame's strings when it reads the frame.
        // One look-up per frame; its key is kept for the reference.
        if (keys.length < frames.size()) {
            keys = new int[Math.max(frames.size(), 2 * keys.length)];
        }
        boolean gc = false;
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            if (f.kind() != Frame.FrameKind.KERNEL) {
                Integer key = defs.frames.get(f);
                keys[i] = key != null ? key : define(defs, f);
            }
            gc |= f.kind() == Frame.FrameKind.PSEUDO && f.equals(Frame.GARBAGE_COLLECTION);
        }
        for (int i = frames.size() - 1; i >= 0; i--) {
            Frame f = frames.get(i);
            if (f.kind() == Frame.FrameKind.KERNEL) {
                event(FRAME_KERNEL);
                string(f.function());
            } else {
                event(FRAME_REF);
                varint(keys[i]);
            }
        }
        if (gc) {
            event(GC);
        }
        if (bytes) {
            event(METRIC_MEMORY);
            varint(released ? -Math.max(0, s.weightNanos()) : Math.max(0, s.weightNanos()));
        } else {
            event(METRIC_TIME);
            varint(Math.round(Math.max(0, s.weightNanos()) / 1000.0));
        }
        if (s.state() == ThreadState.IDLE) {
            event(IDLE);
        }
        flushBuffer();
    }

    /** Sends the definition of {@code f} (and of its strings not sent yet) and returns its new key. */
    private int define(Definitions defs, Frame f) {
        int file = stringKey(defs, f.file());
        int name = stringKey(defs, f.qualifiedName().isEmpty() ? f.function() : f.qualifiedName());
        int key = defs.frames.size() + 1;
        defs.frames.put(f, key);
        event(FRAME);
        varint(key);
        varint(file);
        varint(name);
        boolean python = f.kind() == Frame.FrameKind.PYTHON;
        varint(python ? Math.max(0, f.line()) : 0);
        varint(python ? Math.max(0, f.endLine()) : 0);
        varint(python && f.column() >= 0 ? f.column() + 1L : 0);
        varint(python && f.endColumn() >= 0 ? f.endColumn() + 1L : 0);
        return key;
    }

    private int stringKey(Definitions defs, String s) {
        Integer key = defs.strings.get(s);
        if (key == null) {
            key = defs.strings.size() + FIRST_STRING_KEY;
            defs.strings.put(s, key);
            event(STRING);
            varint(key);
            string(s);
        }
        return key;
    }

    private void metadata(String key, String value) {
        event(METADATA);
        string(key);
        string(value);
    }

    private void event(int id) {
        ensure(1);
        buf[len++] = (byte) id;
    }

    /** A MOJO varint: sign and six value bits in the first byte, seven in each next one, the top bit "more". */
    private void varint(long value) {
        ensure(11);
        long v = value < 0 ? -value : value;
        int first = (int) (v & 0x3f) | (value < 0 ? 0x40 : 0);
        v >>>= 6;
        buf[len++] = (byte) (v != 0 ? first | 0x80 : first);
        while (v != 0) {
            int b = (int) (v & 0x7f);
            v >>>= 7;
            buf[len++] = (byte) (v != 0 ? b | 0x80 : b);
        }
    }

    private void string(String s) {
        StringBuilder escaped = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' || c < 0x20 || c >= 0x7f && c <= 0x9f) {
                escaped = new StringBuilder(s.length() + 8);
                for (int j = 0; j < s.length(); j++) {
                    ControlCharacters.appendEscaped(escaped, s.charAt(j));
                }
                break;
            }
        }
        byte[] bytes = (escaped != null ? escaped.toString() : s).getBytes(StandardCharsets.UTF_8);
        ensure(bytes.length + 1);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        buf[len++] = 0;
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    private void flushBuffer() throws IOException {
        out.write(buf, 0, len);
        len = 0;
        // A sample of a very deep stack grew the buffer: give the memory back.
        if (buf.length > 1 << 16) {
            buf = new byte[4096];
        }
    }

    @Override
    void finish() throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        ProfileMetadata m = metadataNow();
        if (!m.duration().isZero()) {
            metadata("duration", Long.toString(m.duration().toNanos() / 1000));
        }
        if (m.samples() >= 0) {
            if (m.tornSamples() >= 0) {
                metadata("errors", m.tornSamples() + "/" + (m.samples() + m.tornSamples()));
            }
            metadata("samples", Long.toString(m.samples()));
        }
        if (m.droppedSamples() >= 0) {
            metadata("dropped", Long.toString(m.droppedSamples()));
        }
        if (!Double.isNaN(m.achievedRate())) {
            metadata("rate", String.format(Locale.ROOT, "%.1f", m.achievedRate()));
        }
        flushBuffer();
    }

    /** Options: metadata (the header and trailer events). Idle and line-number options do not apply. */
    public static final class Builder extends ExporterBuilder<Builder, MojoExporter> {
        private Builder() {
        }

        @Override
        public MojoExporter build(OutputStream out) {
            return new MojoExporter(out, this);
        }
    }
}
