package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;

/**
 * The Firefox Profiler's processed profile format, version {@value #PROCESSED_VERSION} (its
 * {@code src/types/profile.ts}; the profiler upgrades older versions on import, never newer ones): one thread per
 * sampled thread, grouped by process, each with its samples in time order (milliseconds since
 * {@code meta.startTime}) weighed by the time they stand for ({@code weightType "tracing-ms"}; counted
 * ({@code "samples"}) when no sample carries a weight), the stack, frame, function, source and string tables shared
 * between threads ({@link GeckoSharedTables}), frames in the categories Python, Native, Kernel, GC ({@code <GC>}),
 * Idle (the innermost frame of a kept idle sample) and Other, and a "GIL released" interval marker for every run of
 * samples in which a thread in Python code did not hold the GIL. Samples without frames, and idle ones unless
 * {@link ExporterBuilder#includeIdle(boolean) kept}, are left out (a gap in the thread's track); the thread grouping
 * does not apply: a timeline keeps threads apart. The file is written at {@link #close()}.
 */
public final class GeckoProfileExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "gecko";

    /** {@code PROCESSED_PROFILE_VERSION} of the Firefox Profiler that this writer follows. */
    static final int PROCESSED_VERSION = 70;

    /** {@code GECKO_PROFILE_VERSION} of the same profiler: {@code meta.version} must be present. */
    static final int GECKO_VERSION = 36;

    static final String GIL_MARKER = "GILReleased";

    private static final class ThreadTrack {
        final ThreadId id;
        final long pid;
        final long tid;
        int size;
        long[] times = new long[64];
        long[] weights = new long[64];
        int[] stacks = new int[64];
        final List<long[]> gilReleased = new ArrayList<>();
        long runStart = -1;
        long runEnd;

        ThreadTrack(ThreadId id) {
            this.id = id;
            this.pid = id.pid();
            this.tid = id.tid();
        }

        void add(long time, long weight, int stack) {
            if (size == times.length) {
                times = Arrays.copyOf(times, size * 2);
                weights = Arrays.copyOf(weights, size * 2);
                stacks = Arrays.copyOf(stacks, size * 2);
            }
            times[size] = time;
            weights[size] = weight;
            stacks[size++] = stack;
        }

        /** Ends a run of samples without the GIL, if one is open, as an interval marker. */
        void endGilRun() {
            if (runStart >= 0) {
                gilReleased.add(new long[] {runStart, runEnd});
                runStart = -1;
            }
        }
    }

    private final GeckoSharedTables shared;
    private final Map<ThreadId, ThreadTrack> threads = new LinkedHashMap<>();
    private final ThreadRoots names = new ThreadRoots(dev.spyglass.export.ThreadGrouping.EACH);
    private long firstNanos = Long.MAX_VALUE;
    private long totalWeight;
    private final int gilMarkerName;

    private GeckoProfileExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.shared = new GeckoSharedTables(options.lineNumbers);
        // Interned before the string array is written, which comes before the threads' markers.
        this.gilMarkerName = shared.string("GIL released");
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) {
        ThreadTrack t = threads.computeIfAbsent(names.observe(sample), ThreadTrack::new);
        long weight = Math.max(0, sample.weightNanos());
        if (bytes == null) {
            bytes = weighsBytes(metadataNow()); // the mode is the recording's: asked once
        }
        long start = sample.timestampNanos() - (bytes ? 0 : weight);
        firstNanos = Math.min(firstNanos, start);
        // Only a thread in Python code can be said to have released the GIL: one in no Python frame never took it.
        boolean released = Boolean.FALSE.equals(sample.gilHeld())
                && sample.frames().stream().anyMatch(f -> f.kind() == Frame.FrameKind.PYTHON);
        if (released) {
            if (t.runStart < 0) {
                t.runStart = start;
            }
            t.runEnd = sample.timestampNanos();
        } else {
            t.endGilRun();
        }
        if (!keepsForAggregate(sample)) {
            return;
        }
        t.add(sample.timestampNanos(), weight, shared.stack(sample.frames(), sample.state() == ThreadState.IDLE));
        totalWeight += weight;
    }

    @Override
    void finish() throws IOException {
        ProfileMetadata m = metadataNow();
        bytes = weighsBytes(m);
        threads.values().forEach(ThreadTrack::endGilRun);
        long startNanos = m.startEpochNanos() > 0 ? Math.min(m.startEpochNanos(), firstNanos) : firstNanos;
        if (startNanos == Long.MAX_VALUE) {
            startNanos = m.startEpochNanos() > 0 ? m.startEpochNanos() : 0;
        }
        List<ThreadTrack> ordered = byProcess();
        Map<ThreadId, ThreadKey> roots = names.roots();
        int busiest = 0;
        for (int i = 1; i < ordered.size(); i++) {
            if (ordered.get(i).size > ordered.get(busiest).size) {
                busiest = i;
            }
        }
        Writer w = utf8Writer(out);
        StringBuilder sb = new StringBuilder(1 << 12);
        sb.append("{\"meta\":");
        GeckoMeta.write(sb, m, startNanos, shared.hasNativeOrKernelFrames(), ordered.isEmpty() ? -1 : busiest);
        sb.append(",\"libs\":[],");
        shared.writeShared(sb, w);
        sb.append(",\"threads\":[");
        for (int i = 0; i < ordered.size(); i++) {
            ThreadTrack t = ordered.get(i);
            String name = roots.get(t.id).name();
            writeThread(sb.append(i == 0 ? "" : ","), w, t, name, processName(m, t.pid), startNanos);
        }
        sb.append("]}\n");
        w.append(sb);
        w.flush();
    }

    /** The threads with samples or markers, each process's together, in order of first appearance. */
    private List<ThreadTrack> byProcess() {
        Map<Long, List<ThreadTrack>> byPid = new LinkedHashMap<>();
        // A thread with nothing to show (only frameless or dropped idle samples) would be an empty track.
        threads.values().stream().filter(t -> t.size > 0 || !t.gilReleased.isEmpty())
                .forEach(t -> byPid.computeIfAbsent(t.pid, k -> new ArrayList<>()).add(t));
        List<ThreadTrack> ordered = new ArrayList<>();
        byPid.values().forEach(ordered::addAll);
        return ordered;
    }

    /**
     * The name the profiler gives a process's track; its container first when the target runs in one
     * ({@code container 3f2a9c1b2d4e python3}), the profiler having no level above the process.
     */
    private static String processName(ProfileMetadata m, long pid) {
        String container = ThreadKey.containerLabel(m.container());
        String prefix = container.isEmpty() ? "" : container + " ";
        if (pid == m.pid() && !m.command().isEmpty()) {
            String exe = m.command().get(0);
            return prefix + exe.substring(exe.lastIndexOf('/') + 1);
        }
        return prefix + "process " + pid;
    }

    /** Memory modes: weights are bytes (the profiler's {@code weightType "bytes"}), not time; null until known. */
    private Boolean bytes;

    private void writeThread(StringBuilder sb, Writer w, ThreadTrack t, String name, String processName,
            long startNanos) throws IOException {
        sortByTime(t);
        boolean counted = totalWeight == 0;
        String register = t.size > 0 ? millis(t.times[0] - (bytes ? 0 : t.weights[0]) - startNanos) : "0";
        sb.append("{\"processType\":\"default\",\"processStartupTime\":0,\"processShutdownTime\":null")
                .append(",\"registerTime\":").append(register).append(",\"unregisterTime\":null,\"pausedRanges\":[]")
                .append(",\"showMarkersInTimeline\":true,\"name\":");
        JsonText.string(sb, name).append(",\"isMainThread\":").append(t.tid == t.pid).append(",\"processName\":");
        JsonText.string(sb, processName).append(",\"pid\":\"").append(t.pid).append("\",\"tid\":").append(t.tid)
                .append(",\"samples\":{\"stack\":[");
        GeckoSharedTables.column(sb, w, t.size, i -> Integer.toString(t.stacks[i]));
        sb.append("],\"time\":[");
        GeckoSharedTables.column(sb, w, t.size, i -> millis(t.times[i] - startNanos));
        if (counted) {
            sb.append("],\"weight\":null,\"weightType\":\"samples\"");
        } else if (bytes) {
            sb.append("],\"weight\":[");
            GeckoSharedTables.column(sb, w, t.size, i -> Long.toString(t.weights[i]));
            sb.append("],\"weightType\":\"bytes\"");
        } else {
            sb.append("],\"weight\":[");
            GeckoSharedTables.column(sb, w, t.size, i -> millis(t.weights[i]));
            sb.append("],\"weightType\":\"tracing-ms\"");
        }
        sb.append(",\"length\":").append(t.size).append("},\"markers\":{\"data\":[");
        int n = t.gilReleased.size();
        GeckoSharedTables.column(sb, w, n, i -> "{\"type\":\"" + GIL_MARKER + "\"}");
        String markerName = Integer.toString(gilMarkerName);
        sb.append("],\"name\":[");
        GeckoSharedTables.column(sb, w, n, i -> markerName);
        sb.append("],\"startTime\":[");
        GeckoSharedTables.column(sb, w, n, i -> millis(t.gilReleased.get(i)[0] - startNanos));
        sb.append("],\"endTime\":[");
        GeckoSharedTables.column(sb, w, n, i -> millis(t.gilReleased.get(i)[1] - startNanos));
        sb.append("],\"phase\":[");
        // Phase 1 is an interval marker (both times used).
        GeckoSharedTables.column(sb, w, n, i -> "1");
        sb.append("],\"category\":[");
        GeckoSharedTables.column(sb, w, n, i -> Integer.toString(GeckoSharedTables.PYTHON));
        sb.append("],\"length\":").append(n).append("}}");
    }

    /**
     * Sorts a thread's samples by time: a sampler delivers each thread's in order, but a stream merged from several
     * sources need not be.
     */
    private static void sortByTime(ThreadTrack t) {
        boolean sorted = true;
        for (int i = 1; i < t.size && sorted; i++) {
            sorted = t.times[i - 1] <= t.times[i];
        }
        if (sorted) {
            return;
        }
        Integer[] order = new Integer[t.size];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Long.compare(t.times[a], t.times[b]));
        long[] times = new long[t.size];
        long[] weights = new long[t.size];
        int[] stacks = new int[t.size];
        for (int i = 0; i < t.size; i++) {
            times[i] = t.times[order[i]];
            weights[i] = t.weights[order[i]];
            stacks[i] = t.stacks[order[i]];
        }
        t.times = times;
        t.weights = weights;
        t.stacks = stacks;
    }

    /** Nanoseconds as milliseconds, exactly ({@code 1500000} is {@code 1.5}). */
    static String millis(long nanos) {
        String sign = nanos < 0 ? "-" : "";
        long abs = Math.abs(nanos);
        long whole = abs / 1_000_000;
        long frac = abs % 1_000_000;
        if (frac == 0) {
            return sign + whole;
        }
        String digits = Long.toString(1_000_000 + frac).substring(1);
        int end = digits.length();
        while (digits.charAt(end - 1) == '0') {
            end--;
        }
        return sign + whole + "." + digits.substring(0, end);
    }

    /** Options: line numbers, idle threads, metadata (in {@code meta}). */
    public static final class Builder extends ExporterBuilder<Builder, GeckoProfileExporter> {
        private Builder() {
        }

        @Override
        public GeckoProfileExporter build(OutputStream out) {
            return new GeckoProfileExporter(out, this);
        }
    }
}
