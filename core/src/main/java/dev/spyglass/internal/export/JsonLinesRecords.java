package dev.spyglass.internal.export;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ExportOptions;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;

/**
 * The lines {@link JsonLinesExporter} writes, read back: a header, samples and an end line, each checked field by
 * field so a damaged or foreign file gives a message naming the field, never a sample with invented values.
 * Fields a reader does not know are ignored (the format only ever adds fields); absent optional fields take
 * the values version 1 of the format implied.
 */
public final class JsonLinesRecords {

    /** A line that is not what the format allows; the message names what is wrong. */
    public static final class BadRecord extends Exception {
        /** Whether the line ran out before the record was complete (a cut, not garbage). */
        public final boolean cut;

        BadRecord(String message, boolean cut) {
            super(message);
            this.cut = cut;
        }
    }

    /** What a line holds. */
    public sealed interface Record {
    }

    /** The header: metadata as known at the first sample, and the options the recording was made with. */
    public record Header(int version, ProfileMetadata metadata, ExportOptions options) implements Record {
    }

    /** The end line's final metadata. */
    public record End(ProfileMetadata metadata) implements Record {
    }

    /**
     * One sample, and the container its line names ("" when none): a process-level fact the jsonl format writes
     * on every sample line rather than in the metadata, given back to the metadata by the reader.
     */
    public record Sample(StackSample sample, String container) implements Record {
        public Sample(StackSample sample) {
            this(sample, "");
        }
    }

    /** A line of a type this reader does not know (a later version's), skipped. */
    public record Other(String type) implements Record {
    }

    /** Frames seen, so equal frames are one instance (as the sampler hands them out); bounded, then restarted. */
    private static final int MAX_INTERNED = 1 << 16;
    private final Map<Frame, Frame> frames = new HashMap<>();

    /** The record {@code text} holds. */
    public Record parse(String text) throws BadRecord {
        Object value;
        try {
            value = JsonParser.parse(text);
        } catch (JsonParser.Malformed e) {
            // The parser stopped at the very end: the text is the start of a value, cut.
            throw new BadRecord("not JSON: " + e.getMessage(), e.column > text.length());
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new BadRecord("not a JSON object", false);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> o = (Map<String, Object>) map;
        Object type = o.get("type");
        if (type == null) {
            return new Sample(sample(o), o.containsKey("container") ? string(o, "container") : "");
        }
        if (!(type instanceof String t)) {
            throw new BadRecord("\"type\" is not a string", false);
        }
        return switch (t) {
            case JsonLinesExporter.HEADER_TYPE -> header(o);
            case JsonLinesExporter.END_TYPE -> new End(metadata(object(o, "metadata")));
            default -> new Other(t);
        };
    }

    private Header header(Map<String, Object> o) throws BadRecord {
        long version = integer(o, "version");
        Map<String, Object> opts = object(o, "options");
        ExportOptions.Builder options = ExportOptions.builder().includeIdle(bool(opts, "idle"))
                .lineNumbers(bool(opts, "lines"));
        String threads = string(opts, "threads");
        try {
            options.threads(ThreadGrouping.parse(threads));
        } catch (IllegalArgumentException e) {
            throw new BadRecord("\"threads\": " + e.getMessage(), false);
        }
        for (Map.Entry<String, Object> p : object(opts, "properties").entrySet()) {
            if (!(p.getValue() instanceof String v)) {
                throw new BadRecord("property \"" + p.getKey() + "\" is not a string", false);
            }
            options.property(p.getKey(), v);
        }
        return new Header((int) Math.min(Integer.MAX_VALUE, version), metadata(object(o, "metadata")),
                options.build());
    }

    private static ProfileMetadata metadata(Map<String, Object> m) throws BadRecord {
        Object command = m.get("command");
        if (!(command instanceof List<?> args)) {
            throw new BadRecord("metadata \"command\" is not an array", false);
        }
        List<String> cmd = new ArrayList<>(args.size());
        for (Object a : args) {
            if (!(a instanceof String s)) {
                throw new BadRecord("metadata \"command\" holds a non-string", false);
            }
            cmd.add(s);
        }
        Object rate = m.get("rate");
        if (rate != JsonParser.NULL && !(rate instanceof Number)) {
            throw new BadRecord("metadata \"rate\" is not a number", false);
        }
        return ProfileMetadata.builder().command(cmd).pid(integer(m, "pid")).pythonVersion(string(m, "python"))
                .mode(string(m, "mode")).interval(Duration.ofNanos(integer(m, "interval_ns")))
                .startEpochNanos(integer(m, "start_ns")).duration(Duration.ofNanos(integer(m, "duration_ns")))
                .samples(integer(m, "samples")).tornSamples(integer(m, "torn")).droppedSamples(integer(m, "dropped"))
                .achievedRate(rate instanceof Number n ? n.doubleValue() : Double.NaN)
                .container(container(m)).build();
    }

    /**
     * The short container id, or empty when the metadata names none. Only hex digits pass: the id goes into
     * every format's labels and metadata lines, where a line break from an edited file would forge lines.
     */
    private static String container(Map<String, Object> m) throws BadRecord {
        if (!m.containsKey("container")) {
            return "";
        }
        String id = string(m, "container");
        if (!id.matches("[0-9a-f]{1,64}")) {
            throw new BadRecord("metadata \"container\" is not a container id (hex digits)", false);
        }
        return id;
    }

    private StackSample sample(Map<String, Object> o) throws BadRecord {
        long tid = integer(o, "tid");
        long nativeTid = o.containsKey("native_tid") ? integer(o, "native_tid") : tid;
        Object gil = o.get("gil");
        if (gil != JsonParser.NULL && !(gil instanceof Boolean)) {
            throw new BadRecord("\"gil\" is not true, false or null", false);
        }
        String stateName = string(o, "state");
        ThreadState state = switch (stateName) {
            case "running" -> ThreadState.RUNNING;
            case "idle" -> ThreadState.IDLE;
            case "unknown" -> ThreadState.UNKNOWN;
            default -> throw new BadRecord("\"state\" is not running, idle or unknown: \"" + stateName + "\"", false);
        };
        long weight = integer(o, "weight_ns");
        if (weight < 0) {
            throw new BadRecord("\"weight_ns\" is negative", false);
        }
        Object list = o.get("frames");
        if (!(list instanceof List<?> raw)) {
            throw new BadRecord(list == null ? "no \"frames\"" : "\"frames\" is not an array", false);
        }
        List<Frame> stack = new ArrayList<>(raw.size());
        for (Object f : raw) {
            if (!(f instanceof Map<?, ?> fm)) {
                throw new BadRecord("a frame is not an object", false);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> frame = (Map<String, Object>) fm;
            stack.add(frame(frame));
        }
        ThreadStack thread = new ThreadStack(integer(o, "pid"), nativeTid,
                o.containsKey("thread_start") ? integer(o, "thread_start") : -1,
                o.containsKey("python_tid") ? integer(o, "python_tid") : 0, string(o, "thread"),
                o.containsKey("interpreter") ? integer(o, "interpreter") : 0, state,
                gil == JsonParser.NULL ? null : (Boolean) gil, stack);
        return new StackSample(thread, integer(o, "ts"), weight);
    }

    private Frame frame(Map<String, Object> f) throws BadRecord {
        String kindName = string(f, "kind");
        Frame.FrameKind kind;
        try {
            kind = Frame.FrameKind.valueOf(kindName.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadRecord("a frame's \"kind\" is unknown: \"" + kindName + "\"", false);
        }
        Frame frame = new Frame(kind, string(f, "function"), string(f, "qualname"), string(f, "file"),
                intValue(f, "line"), optionalInt(f, "end_line", 0), optionalInt(f, "column", -1),
                optionalInt(f, "end_column", -1), optionalInt(f, "first_line", 0));
        if (frames.size() >= MAX_INTERNED) {
            frames.clear();
        }
        Frame known = frames.putIfAbsent(frame, frame);
        return known != null ? known : frame;
    }

    private static Map<String, Object> object(Map<String, Object> o, String key) throws BadRecord {
        if (!(o.get(key) instanceof Map<?, ?> m)) {
            throw new BadRecord(o.containsKey(key) ? "\"" + key + "\" is not an object" : "no \"" + key + "\"", false);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) m;
        return map;
    }

    private static long integer(Map<String, Object> o, String key) throws BadRecord {
        if (!(o.get(key) instanceof Long n)) {
            throw new BadRecord(o.containsKey(key) ? "\"" + key + "\" is not an integer" : "no \"" + key + "\"", false);
        }
        return n;
    }

    /** An optional int field, {@code absent} when missing. */
    private static int optionalInt(Map<String, Object> o, String key, int absent) throws BadRecord {
        return o.containsKey(key) ? intValue(o, key) : absent;
    }

    private static int intValue(Map<String, Object> o, String key) throws BadRecord {
        long n = integer(o, key);
        if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
            throw new BadRecord("\"" + key + "\" is out of range: " + n, false);
        }
        return (int) n;
    }

    private static String string(Map<String, Object> o, String key) throws BadRecord {
        if (!(o.get(key) instanceof String s)) {
            throw new BadRecord(o.containsKey(key) ? "\"" + key + "\" is not a string" : "no \"" + key + "\"", false);
        }
        return s;
    }

    private static boolean bool(Map<String, Object> o, String key) throws BadRecord {
        if (!(o.get(key) instanceof Boolean b)) {
            throw new BadRecord(o.containsKey(key) ? "\"" + key + "\" is not true or false" : "no \"" + key + "\"",
                    false);
        }
        return b;
    }
}
