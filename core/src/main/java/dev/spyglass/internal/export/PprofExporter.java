package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * pprof's {@code profile.proto} (github.com/google/pprof, {@code proto/profile.proto}), gzip'ed as pprof
 * expects on disk. Two sample types: {@code samples/count} and {@code wall/nanoseconds} (or
 * {@code cpu/nanoseconds} in CPU and GIL modes; the default type); in the memory modes {@code memory/bytes}
 * instead of the time (RSS growth, or pages faulted in), and in RSS mode a third, {@code memory_released/bytes},
 * from the samples under {@link Frame#MEMORY_RELEASED} (written without that frame). One {@code Sample} per distinct stack and thread,
 * labelled {@code thread} (the thread's latest name, or the name or pattern of the threads merged under it: see
 * {@link dev.spyglass.export.ThreadGrouping}), {@code thread_id} (when it is one thread), {@code pid} and, when the
 * target runs in a container, {@code container} (its short id,
 * {@link dev.spyglass.export.ProfileMetadata#container()}). One
 * {@code Location} per distinct frame (function and line) and one {@code Function} per distinct qualified name
 * and file, whose {@code name} is the qualified name and whose {@code system_name} is left empty (so
 * {@code go tool pprof} keeps names such as {@code <module>} instead of stripping them as C++ template
 * arguments), whose
 * {@code start_line} is the frame's {@link dev.spyglass.Frame#firstLine()} ({@code co_firstlineno}; 0 when
 * unknown; the smallest seen when two functions share a name and file). {@code time_nanos},
 * {@code duration_nanos}, {@code period_type} and {@code period} (the sampling interval) come from the
 * metadata, else from the samples' timestamps. A native frame (a C function, when native frames are sampled) has its
 * own {@code Function}, whose {@code name} and {@code system_name} are the symbol and whose {@code filename} is the
 * object's path, and a {@code Location} (no address) on one {@code Mapping} per object: {@code filename} the
 * object's path, {@code build_id} its GNU build-id in hex (read once per path, through the target's
 * {@code /proc/<pid>/root} first; empty when the file cannot be read), {@code has_functions} set, so pprof does not
 * symbolise it again. A kernel frame (when kernel frames are sampled) is alike: a {@code Function} whose
 * {@code name} and {@code system_name} are the kernel's symbol and whose {@code filename} is {@code [kernel]}, on one
 * {@code Mapping} named {@code [kernel.kallsyms]} as Linux perf names the kernel, with the running kernel's
 * build-id (from {@code /sys/kernel/notes}; empty when unreadable). Python and pseudo-frames have no mapping. The
 * command and Python version are written as comments.
 * Samples without frames, and idle ones unless kept, are left out. The file is written at {@link #close()}.
 */
public final class PprofExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "pprof";

    // Field numbers of profile.proto.
    private static final int PROFILE_SAMPLE_TYPE = 1;
    private static final int PROFILE_SAMPLE = 2;
    private static final int PROFILE_MAPPING = 3;
    private static final int PROFILE_LOCATION = 4;
    private static final int PROFILE_FUNCTION = 5;
    private static final int PROFILE_STRING_TABLE = 6;
    private static final int PROFILE_TIME_NANOS = 9;
    private static final int PROFILE_DURATION_NANOS = 10;
    private static final int PROFILE_PERIOD_TYPE = 11;
    private static final int PROFILE_PERIOD = 12;
    private static final int PROFILE_COMMENT = 13;
    private static final int PROFILE_DEFAULT_SAMPLE_TYPE = 14;

    /**
     * The mapping of kernel frames: the name Linux perf gives the kernel's code ({@code perf script},
     * {@code perf report}), which pprof, like other tools, does not try to open (a name in brackets).
     */
    static final String KERNEL_MAPPING = "[kernel.kallsyms]";

    private static final int MAX_FRAMES_SEEN = 1 << 20;
    private final StackCounts counts;
    /** Functions' first lines; frames are interned, so each distinct frame is looked at once. */
    private final Map<FunctionKey, Integer> startLines = new HashMap<>();
    private final Map<Frame, Boolean> framesSeen = new IdentityHashMap<>();
    private final ObjectBuildIds buildIds = new ObjectBuildIds();
    private long firstTimestamp = Long.MAX_VALUE;
    private long lastTimestamp = Long.MIN_VALUE;

    private PprofExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.counts = new StackCounts(options.lineNumbers, options.threads);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) {
        if (sample.timestampNanos() > 0) {
            firstTimestamp = Math.min(firstTimestamp, sample.timestampNanos());
            lastTimestamp = Math.max(lastTimestamp, sample.timestampNanos());
        }
        if (keepsForAggregate(sample)) {
            counts.add(sample);
            for (Frame f : sample.frames()) {
                if (framesSeen.size() < MAX_FRAMES_SEEN && framesSeen.put(f, Boolean.TRUE) == null) {
                    if (f.firstLine() > 0) {
                        String name = f.qualifiedName().isEmpty() ? f.function() : f.qualifiedName();
                        startLines.merge(new FunctionKey(f.kind(), name, f.file()), f.firstLine(), Math::min);
                    } else if (f.kind() == Frame.FrameKind.NATIVE) {
                        // Read now, while the target (and its /proc/<pid>/root) still exists.
                        buildIds.of(f.file(), sample.pid());
                    }
                }
            }
        }
    }

    private static final class StringTable {
        final Map<String, Long> index = new HashMap<>();
        final List<String> strings = new ArrayList<>();

        StringTable() {
            id("");
        }

        long id(String s) {
            return index.computeIfAbsent(s, k -> {
                strings.add(k);
                return (long) strings.size() - 1;
            });
        }
    }

    private record FunctionKey(Frame.FrameKind kind, String name, String file) {
        static FunctionKey of(FrameKey f) {
            return new FunctionKey(f.kind(), f.name(), f.file());
        }
    }

    @Override
    void finish() throws IOException {
        ProfileMetadata m = metadataNow();
        StringTable strings = new StringTable();
        ProtoBuffer profile = new ProtoBuffer();
        ProtoBuffer nested = new ProtoBuffer();
        ProtoBuffer inner = new ProtoBuffer();

        // GIL mode's time is where Python code held the GIL: CPU time of the interpreter, not wall time.
        String timeType = m.mode().equals("cpu") || m.mode().equals("gil") ? "cpu" : "wall";
        boolean bytes = weighsBytes(m);
        long nanoseconds = strings.id("nanoseconds");
        // Memory modes: bytes of resident memory gained (RSS growth, or pages faulted in), and in RSS mode
        // the bytes released, from the samples under Frame.MEMORY_RELEASED (that frame is left out).
        long bytesId = bytes ? strings.id("bytes") : 0;
        long timeTypeId = bytes ? strings.id("memory") : strings.id(timeType);
        long unitId = bytes ? bytesId : nanoseconds;
        valueType(profile, PROFILE_SAMPLE_TYPE, strings.id("samples"), strings.id("count"), nested);
        valueType(profile, PROFILE_SAMPLE_TYPE, timeTypeId, unitId, nested);
        boolean releases = m.mode().equals("memory");
        if (releases) {
            valueType(profile, PROFILE_SAMPLE_TYPE, strings.id("memory_released"), bytesId, nested);
        }

        Map<FrameKey, Long> locations = new LinkedHashMap<>();
        Map<FunctionKey, Long> functions = new LinkedHashMap<>();
        Map<String, Long> mappings = new LinkedHashMap<>();
        long threadKey = strings.id("thread");
        long threadIdKey = strings.id("thread_id");
        long pidKey = strings.id("pid");
        // The container as a string label on every sample (`pprof -tagfocus container=ID`, `-tags`): a
        // process-level fact, so the same for all samples of one target.
        long containerKey = m.container().isEmpty() ? 0 : strings.id("container");
        long containerId = m.container().isEmpty() ? 0 : strings.id(m.container());
        long[] ids = new long[64];
        for (Map.Entry<StackCounts.Stack, StackCounts.Tally> e : counts.tallies().entrySet()) {
            List<FrameKey> rootFirst = e.getKey().rootFirst();
            boolean released = releases && !rootFirst.isEmpty() && rootFirst.get(0).isMemoryReleased();
            if (released) {
                rootFirst = rootFirst.subList(1, rootFirst.size());
            }
            if (ids.length < rootFirst.size()) {
                ids = new long[rootFirst.size()];
            }
            // pprof wants the leaf first.
            for (int i = 0; i < rootFirst.size(); i++) {
                FrameKey f = rootFirst.get(rootFirst.size() - 1 - i);
                ids[i] = locations.computeIfAbsent(f, k -> (long) locations.size() + 1);
                functions.computeIfAbsent(FunctionKey.of(f), k -> (long) functions.size() + 1);
                if (f.isNative() || f.isKernel()) {
                    mappings.computeIfAbsent(mappingName(f), k -> (long) mappings.size() + 1);
                }
            }
            nested.reset();
            nested.packed(1, ids, rootFirst.size());
            long w = e.getValue().weightNanos;
            if (releases) {
                nested.packed(2, new long[] {e.getValue().count, released ? 0 : w, released ? w : 0}, 3);
            } else {
                nested.packed(2, new long[] {e.getValue().count, w}, 2);
            }
            ThreadKey thread = e.getKey().thread();
            inner.reset();
            inner.int64(1, threadKey);
            inner.int64(2, strings.id(thread.name()));
            nested.message(3, inner);
            if (thread.tid() != -1) {
                // A root of several threads (ThreadGrouping) has no one id.
                numLabel(nested, inner, threadIdKey, thread.tid());
            }
            numLabel(nested, inner, pidKey, thread.pid());
            if (containerKey != 0) {
                inner.reset();
                inner.int64(1, containerKey);
                inner.int64(2, containerId);
                nested.message(3, inner);
            }
            profile.message(PROFILE_SAMPLE, nested);
        }
        for (Map.Entry<FrameKey, Long> e : locations.entrySet()) {
            FrameKey f = e.getKey();
            nested.reset();
            nested.int64(1, e.getValue());
            if (f.isNative() || f.isKernel()) {
                // No address: the frame is already symbolised, and one location stands for every address in
                // the function (as one Python location stands for every instruction of a line).
                nested.int64(2, mappings.get(mappingName(f)));
            }
            inner.reset();
            inner.int64(1, functions.get(FunctionKey.of(f)));
            inner.int64(2, f.line());
            nested.message(4, inner);
            profile.message(PROFILE_LOCATION, nested);
        }
        for (Map.Entry<FunctionKey, Long> e : functions.entrySet()) {
            nested.reset();
            nested.int64(1, e.getValue());
            // Function.name only; system_name stays empty. pprof treats a function whose system_name
            // equals its name as not yet demangled and, finding '<' in it, strips "<...>" as C++
            // template arguments: "<module>", "<lambda>", "<listcomp>" came out as "<unknown>" in
            // `go tool pprof -top` (even with -symbolize=force, which copies a non-empty system_name
            // over the name). Python functions have no separate system name.
            nested.int64(2, strings.id(e.getKey().name()));
            if (e.getKey().kind() == Frame.FrameKind.NATIVE || e.getKey().kind() == Frame.FrameKind.KERNEL) {
                // A native or kernel symbol is a system name: pprof may simplify a C++ one for display
                // ("std::vector<int>::push_back(int)" to "std::vector::push_back"), as it does its own.
                nested.int64(3, strings.id(e.getKey().name()));
            }
            nested.int64(4, strings.id(e.getKey().file()));
            nested.int64(5, startLines.getOrDefault(e.getKey(), 0));
            profile.message(PROFILE_FUNCTION, nested);
        }
        for (Map.Entry<String, Long> e : mappings.entrySet()) {
            // No address range (0, 0): locations carry no addresses. has_functions tells pprof the locations
            // are symbolised already, so it does not look for the object to symbolise them again.
            nested.reset();
            nested.int64(1, e.getValue());
            nested.int64(5, strings.id(e.getKey()));
            nested.int64(6, strings.id(e.getKey().equals(KERNEL_MAPPING) ? buildIds.kernel()
                    : buildIds.of(e.getKey(), -1)));
            nested.bool(7, true);
            profile.message(PROFILE_MAPPING, nested);
        }

        long start = m.startEpochNanos() > 0 ? m.startEpochNanos()
                : firstTimestamp != Long.MAX_VALUE ? firstTimestamp : 0;
        long duration = !m.duration().isZero() ? m.duration().toNanos()
                : firstTimestamp != Long.MAX_VALUE ? lastTimestamp - firstTimestamp : 0;
        List<Long> comments = new ArrayList<>();
        if (!m.commandLine().isEmpty()) {
            comments.add(strings.id("command: " + m.commandLine()));
        }
        if (!m.pythonVersion().isEmpty()) {
            comments.add(strings.id("python: " + m.pythonVersion()));
        }
        comments.add(strings.id("producer: " + SpyglassVersion.PRODUCER));

        for (String s : strings.strings) {
            profile.string(PROFILE_STRING_TABLE, s);
        }
        profile.int64(PROFILE_TIME_NANOS, start);
        profile.int64(PROFILE_DURATION_NANOS, duration);
        valueType(profile, PROFILE_PERIOD_TYPE, timeTypeId, unitId, nested);
        // Memory modes: the resolution of a weight is one page (RSS and faults count whole pages).
        profile.int64(PROFILE_PERIOD, bytes ? 4096 : m.interval().toNanos());
        long[] commentIds = comments.stream().mapToLong(Long::longValue).toArray();
        profile.packed(PROFILE_COMMENT, commentIds, commentIds.length);
        profile.int64(PROFILE_DEFAULT_SAMPLE_TYPE, timeTypeId);

        GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16);
        profile.writeTo(gz);
        gz.finish();
    }

    /** The mapping a native or kernel frame's location is on: the object's path, or {@link #KERNEL_MAPPING}. */
    private static String mappingName(FrameKey f) {
        return f.isKernel() ? KERNEL_MAPPING : f.file();
    }

    private static void valueType(ProtoBuffer profile, int field, long type, long unit, ProtoBuffer scratch) {
        scratch.reset();
        scratch.int64(1, type);
        scratch.int64(2, unit);
        profile.message(field, scratch);
    }

    private static void numLabel(ProtoBuffer sample, ProtoBuffer scratch, long key, long value) {
        scratch.reset();
        scratch.int64(1, key);
        scratch.int64(3, value);
        sample.message(3, scratch);
    }

    /** Options: line numbers, idle threads, metadata (time, duration, period, mode, comments). */
    public static final class Builder extends ExporterBuilder<Builder, PprofExporter> {
        private Builder() {
        }

        @Override
        public PprofExporter build(OutputStream out) {
            return new PprofExporter(out, this);
        }
    }
}
