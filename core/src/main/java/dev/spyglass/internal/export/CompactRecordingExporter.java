package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.ThreadGrouping;

/**
 * The compact recording ({@code sgr}): everything {@link JsonLinesExporter} writes, in a tenth of its bytes or
 * less, for {@link dev.spyglass.export.RecordingReader} to read back. Strings, frames, stacks and threads are
 * defined once, when first used, and referred to by number (as Austin's MOJO and CPython 3.15's binary profile
 * format do), so a sample that repeats a stack costs a few bytes: its tag, thread and stack numbers, and the
 * change of its time and weight from the sample before.
 *
 * <p>Layout. Integers are unsigned LEB128 varints ({@code u}) or zig-zag signed ones ({@code s}); a string is its
 * UTF-8 length ({@code u}) and bytes. The file is the 8 bytes {@code 89 53 47 52 0d 0a 1a 0a} ({@code \x89SGR\r\n
 * \x1a\n}), the version ({@code u}, 1), then records, each a tag byte and its fields:
 * <ul>
 * <li>{@code 01} header, as the jsonl header line, written before the first sample (or at close): the producer
 *     string, the metadata (below) as known then, and the options: idle and lines (a byte each, 0 or 1), the
 *     thread grouping's name, the number of properties ({@code u}) and each one's name and value;</li>
 * <li>{@code 03} string, {@code 04} frame, {@code 05} stack, {@code 06} thread: a table entry, numbered from 0
 *     in the order of definition per table. A frame is its kind (a byte: 0 Python, 1 native, 2 kernel,
 *     3 pseudo), function, qualified name and file (string numbers, {@code u}), line, end line, column, end
 *     column and first line ({@code s} each). A stack is its depth ({@code u}) and frame numbers, innermost
 *     first. A thread is pid ({@code s}), kernel thread id, start time, Python thread id ({@code s} each, -1
 *     when unknown), name (a string number) and interpreter id ({@code s});</li>
 * <li>{@code 80}-{@code 8f} sample: the tag's low two bits are the GIL (0 unknown, 1 not held, 2 held), the
 *     next two the state (0 running, 1 idle, 2 unknown); then thread and stack numbers ({@code u}), the time
 *     (ns since the epoch) minus the previous sample's ({@code s}), the weight minus the previous sample's
 *     ({@code s}; both previous values start at 0);</li>
 * <li>{@code 07} reset: every table is empty again (numbers restart at 0), written before a table would pass
 *     its bound ({@code CompactFormat}: 64 Ki entries, 32 MiB of strings, 4 Mi stack frames), which bounds the
 *     memory of writer and reader whatever the recording's length;</li>
 * <li>{@code 02} end, as the jsonl end line: the final metadata;</li>
 * <li>{@code 40}-{@code 7f}: a record a later version adds, its length ({@code u}) then its bytes: skipped.</li>
 * </ul>
 * Metadata is the command (a count and strings), pid ({@code s}), Python version and mode (strings), interval,
 * start, duration, samples, torn and dropped ({@code s} each), the achieved rate (8 bytes, a little-endian IEEE
 * double) and the container id (a string, empty when none). Like jsonl, every sample is written in the order
 * received, idle ones too, and no option is applied: they are recorded for a conversion to apply.
 */
public final class CompactRecordingExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "sgr";

    private final CompactOutput w;
    private final ThreadGrouping threads;
    private final Map<String, String> properties;
    private final Map<String, Integer> strings = new HashMap<>();
    private long stringBytes;
    private final Map<Frame, Integer> frames = new HashMap<>();
    private final Map<StackKey, Integer> stacks = new HashMap<>();
    private long stackFrames;
    private final Map<ThreadKey, Integer> threadIds = new HashMap<>();
    private long previousTime;
    private long previousWeight;
    private boolean headerWritten;

    /** A stack as the numbers of its frames. */
    private record StackKey(int[] frames) {
        @Override
        public boolean equals(Object o) {
            return o instanceof StackKey k && Arrays.equals(frames, k.frames);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(frames);
        }
    }

    /** What a thread record holds; the state and GIL, which change from sample to sample, are in the sample. */
    private record ThreadKey(long pid, long nativeId, long start, long pythonId, String name, long interpreter) {
    }

    /** A table would pass its bound with the sample being written: reset, then write the sample again. */
    private static final class TableFull extends Exception {
        TableFull() {
            super(null, null, false, false);
        }
    }

    /** A string no table can hold (a sampler reads no name this long): the sample cannot be written. */
    private static final class StringTooLong extends IOException {
        StringTooLong(String message) {
            super(message);
        }
    }

    private CompactRecordingExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.w = new CompactOutput(out);
        this.threads = options.threads;
        this.properties = new TreeMap<>(options.properties);
        w.bytes(CompactFormat.MAGIC);
        w.varint(CompactFormat.VERSION);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample s) throws IOException {
        if (s.frames().size() > CompactFormat.MAX_STACK_DEPTH) {
            throw new IOException("a stack of " + s.frames().size() + " frames is deeper than the "
                    + CompactFormat.MAX_STACK_DEPTH + " this format holds");
        }
        if (!headerWritten) {
            writeHeader();
        }
        int thread;
        int stack;
        try {
            thread = thread(s);
            stack = stack(s.frames());
        } catch (TableFull full) {
            reset();
            try {
                thread = thread(s);
                stack = stack(s.frames());
            } catch (TableFull again) {
                throw new IOException("a sample's strings take more than the "
                        + CompactFormat.MAX_STRING_TABLE_BYTES + " bytes this format holds");
            }
        }
        w.tag(CompactFormat.SAMPLE | CompactFormat.stateBits(s.state()) << 2 | CompactFormat.gilBits(s.gilHeld()));
        w.varint(thread);
        w.varint(stack);
        w.signed(s.timestampNanos() - previousTime);
        w.signed(s.weightNanos() - previousWeight);
        previousTime = s.timestampNanos();
        previousWeight = s.weightNanos();
        w.drainIfFull();
    }

    private int thread(StackSample s) throws TableFull, StringTooLong {
        ThreadKey key = new ThreadKey(s.pid(), s.nativeThreadId(), s.threadStartTime(), s.pythonThreadId(),
                s.threadName(), s.interpreterId());
        Integer known = threadIds.get(key);
        if (known != null) {
            return known;
        }
        if (threadIds.size() >= CompactFormat.MAX_ENTRIES) {
            throw new TableFull();
        }
        int name = string(s.threadName());
        w.tag(CompactFormat.THREAD);
        w.signed(s.pid());
        w.signed(s.nativeThreadId());
        w.signed(s.threadStartTime());
        w.signed(s.pythonThreadId());
        w.varint(name);
        w.signed(s.interpreterId());
        int id = threadIds.size();
        threadIds.put(key, id);
        return id;
    }

    private int stack(List<Frame> stack) throws TableFull, StringTooLong {
        int[] ids = new int[stack.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = frame(stack.get(i));
        }
        StackKey key = new StackKey(ids);
        Integer known = stacks.get(key);
        if (known != null) {
            return known;
        }
        if (stacks.size() >= CompactFormat.MAX_ENTRIES || stackFrames + ids.length > CompactFormat.MAX_STACK_TABLE_FRAMES) {
            throw new TableFull();
        }
        w.tag(CompactFormat.STACK);
        w.varint(ids.length);
        for (int id : ids) {
            w.varint(id);
        }
        stackFrames += ids.length;
        int id = stacks.size();
        stacks.put(key, id);
        return id;
    }

    private int frame(Frame f) throws TableFull, StringTooLong {
        Integer known = frames.get(f);
        if (known != null) {
            return known;
        }
        if (frames.size() >= CompactFormat.MAX_ENTRIES) {
            throw new TableFull();
        }
        int function = string(f.function());
        int qualname = string(f.qualifiedName());
        int file = string(f.file());
        w.tag(CompactFormat.FRAME);
        w.tag(f.kind().ordinal());
        w.varint(function);
        w.varint(qualname);
        w.varint(file);
        w.signed(f.line());
        w.signed(f.endLine());
        w.signed(f.column());
        w.signed(f.endColumn());
        w.signed(f.firstLine());
        int id = frames.size();
        frames.put(f, id);
        return id;
    }

    private int string(String s) throws TableFull, StringTooLong {
        Integer known = strings.get(s);
        if (known != null) {
            return known;
        }
        byte[] utf8 = CompactFormat.utf8(s);
        if (utf8.length > CompactFormat.MAX_STRING_BYTES) {
            // Not a table matter: no reset makes room. A name this long is no name a sampler reads.
            throw new StringTooLong("a string of " + utf8.length + " bytes is longer than the "
                    + CompactFormat.MAX_STRING_BYTES + " this format holds");
        }
        if (strings.size() >= CompactFormat.MAX_ENTRIES
                || stringBytes + utf8.length > CompactFormat.MAX_STRING_TABLE_BYTES) {
            throw new TableFull();
        }
        w.tag(CompactFormat.STRING);
        w.string(utf8);
        stringBytes += utf8.length;
        int id = strings.size();
        strings.put(s, id);
        return id;
    }

    private void reset() {
        w.tag(CompactFormat.RESET);
        strings.clear();
        frames.clear();
        stacks.clear();
        threadIds.clear();
        stringBytes = 0;
        stackFrames = 0;
    }

    /** As the jsonl header line: the metadata as known at the first sample, and the options recorded. */
    private void writeHeader() throws IOException {
        headerWritten = true;
        w.tag(CompactFormat.HEADER);
        w.string(SpyglassVersion.PRODUCER);
        metadata(metadataNow());
        w.tag(includeIdle ? 1 : 0);
        w.tag(lineNumbers ? 1 : 0);
        w.string(threads.name().toLowerCase(Locale.ROOT));
        w.varint(properties.size());
        for (Map.Entry<String, String> p : properties.entrySet()) {
            w.string(p.getKey());
            w.string(p.getValue());
        }
        w.drainIfFull();
    }

    private void metadata(ProfileMetadata m) {
        w.varint(m.command().size());
        for (String arg : m.command()) {
            w.string(arg);
        }
        w.signed(m.pid());
        w.string(m.pythonVersion());
        w.string(m.mode());
        w.signed(m.interval().toNanos());
        w.signed(m.startEpochNanos());
        w.signed(m.duration().toNanos());
        w.signed(m.samples());
        w.signed(m.tornSamples());
        w.signed(m.droppedSamples());
        w.float64(m.achievedRate());
        w.string(m.container());
    }

    @Override
    void finish() throws IOException {
        if (!headerWritten) {
            writeHeader();
        }
        w.tag(CompactFormat.END);
        metadata(metadataNow());
        w.flush();
    }

    /** The shared options are not applied but recorded, with the format properties, as jsonl does. */
    public static final class Builder extends ExporterBuilder<Builder, CompactRecordingExporter> {
        private Map<String, String> properties = Map.of();

        private Builder() {
        }

        /** The format properties recorded in the header (every format's, as given to the recording). */
        public Builder properties(Map<String, String> properties) {
            this.properties = Map.copyOf(properties);
            return this;
        }

        @Override
        public CompactRecordingExporter build(OutputStream out) {
            return new CompactRecordingExporter(out, this);
        }
    }
}
