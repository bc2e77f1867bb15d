package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * The Trace Event Format's JSON object form ({@code {"traceEvents":[...]}}, read by Perfetto, {@code chrome://tracing}
 * and speedscope): each thread's sampled stacks turned into nested duration events. A frame begins ({@code "B"}) when
 * a sample first shows it and ends ({@code "E"}) when a later sample of the thread no longer does, so a slice lasts
 * from the start of the first sample that saw the call (its timestamp less its weight) to the end of the last one;
 * frames are compared by function, not line, so a slice is a call. When a thread was not observed for a while (its
 * next sample's weight is shorter than the time since its previous one: the sampler skipped it, or it was idle and
 * idle samples are dropped) its slices end at its previous sample. Timestamps are microseconds since the recording
 * started; every thread's events are in time order and balanced; {@code process_name} and {@code thread_name}
 * metadata events name the tracks (a thread by its latest name, written at the end).
 * The recording's metadata goes into {@code otherData}. Events are written as samples arrive; the open slices are
 * ended and the trailer written at {@link #close()}.
 */
public final class ChromeTraceExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "chrome";

    private static final class Track {
        final List<FrameKey> open = new ArrayList<>();
        long openEnd;
    }

    private final Writer w;
    private final StringBuilder sb = new StringBuilder(1 << 12);
    private final Map<ThreadId, Track> tracks = new HashMap<>();
    private final Set<Long> namedProcesses = new HashSet<>();
    private final ThreadRoots names = new ThreadRoots(dev.spyglass.export.ThreadGrouping.EACH);
    private long baseNanos = Long.MIN_VALUE;
    private boolean firstEvent = true;

    private ChromeTraceExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.w = utf8Writer(out);
        sb.append("{\"traceEvents\":[");
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) throws IOException {
        long weight = Math.max(0, sample.weightNanos());
        long start = sample.timestampNanos() - weight;
        if (baseNanos == Long.MIN_VALUE) {
            long recorded = metadataNow().startEpochNanos();
            baseNanos = recorded > 0 ? Math.min(recorded, start) : start;
        }
        ThreadId id = ThreadId.of(sample);
        Track t = tracks.get(id);
        if (t == null) {
            t = new Track();
            t.openEnd = start;
            tracks.put(id, t);
            if (namedProcesses.add(id.pid())) {
                ProfileMetadata m = metadataNow();
                String container = ThreadKey.containerLabel(m.container());
                // The process is the trace's outermost level: the container goes in front of its name.
                String name = (container.isEmpty() ? "" : container + " ")
                        + (id.pid() == m.pid() && !m.commandLine().isEmpty() ? m.commandLine() : "process " + id.pid());
                metadataEvent("process_name", id.pid(), 0, name);
            }
        }
        names.observe(sample);
        List<Frame> frames = keepsForAggregate(sample) ? sample.frames() : List.of();
        if (start > t.openEnd) {
            // Not observed between its previous sample and this one's start: what was open ended unseen.
            popTo(t, 0, id, t.openEnd);
        }
        long at = Math.max(start, t.openEnd);
        int depth = frames.size();
        int common = 0;
        while (common < t.open.size() && common < depth
                && t.open.get(common).equals(FrameKey.of(frames.get(depth - 1 - common), false))) {
            common++;
        }
        popTo(t, common, id, at);
        for (int i = common; i < depth; i++) {
            Frame f = frames.get(depth - 1 - i);
            FrameKey key = FrameKey.of(f, false);
            t.open.add(key);
            begin(id, at, f, key);
        }
        t.openEnd = Math.max(at, sample.timestampNanos());
    }

    /** Ends the open slices of {@code t} above {@code depth}, innermost first, at {@code at}. */
    private void popTo(Track t, int depth, ThreadId id, long at) throws IOException {
        while (t.open.size() > depth) {
            FrameKey key = t.open.remove(t.open.size() - 1);
            // The format lets an E event leave its name out, but the Firefox Profiler's importer refuses any
            // event without one.
            event("E", id, at);
            JsonText.string(sb.append(",\"name\":"), sliceName(key)).append('}');
        }
    }

    private void begin(ThreadId id, long at, Frame f, FrameKey key) throws IOException {
        event("B", id, at);
        sb.append(",\"name\":");
        JsonText.string(sb, sliceName(key)).append(",\"cat\":\"")
                .append(switch (f.kind()) {
                    case PYTHON -> "python";
                    case NATIVE -> "native";
                    case KERNEL -> "kernel";
                    case PSEUDO -> f.equals(Frame.GARBAGE_COLLECTION) ? "gc" : "other";
                }).append('"');
        if (f.kind() == Frame.FrameKind.PYTHON || f.kind() == Frame.FrameKind.NATIVE) {
            sb.append(",\"args\":{\"file\":");
            JsonText.string(sb, f.file());
            if (f.kind() == Frame.FrameKind.PYTHON && f.line() > 0) {
                sb.append(",\"line\":").append(f.line());
            }
            sb.append('}');
        }
        sb.append('}');
    }

    /** A Python frame's qualified name; a native, kernel or pseudo frame as the other formats label it. */
    private static String sliceName(FrameKey key) {
        return key.kind() == Frame.FrameKind.PYTHON ? key.name() : key.label();
    }

    /** Opens an event object with its phase, time, pid and tid (the caller adds the rest and the closing brace). */
    private void event(String phase, ThreadId id, long atNanos) throws IOException {
        if (sb.length() > 1 << 15) {
            w.append(sb);
            sb.setLength(0);
        }
        sb.append(firstEvent ? "\n" : ",\n").append("{\"ph\":\"").append(phase).append("\",\"ts\":")
                .append(micros(Math.max(0, atNanos - baseNanos))).append(",\"pid\":").append(id.pid())
                .append(",\"tid\":").append(id.tid());
        firstEvent = false;
    }

    private void metadataEvent(String what, long pid, long tid, String name) throws IOException {
        event("M", new ThreadId(pid, tid, -1), baseNanos);
        sb.append(",\"name\":\"").append(what).append("\",\"args\":{\"name\":");
        JsonText.string(sb, name).append("}}");
    }

    @Override
    void finish() throws IOException {
        for (Map.Entry<ThreadId, Track> e : tracks.entrySet()) {
            popTo(e.getValue(), 0, e.getKey(), e.getValue().openEnd);
        }
        // One name per thread, its latest (a thread is named python3 until threading is imported and MainThread
        // after): viewers disagree on which of several thread_name events wins.
        for (Map.Entry<ThreadId, ThreadKey> e : names.roots().entrySet()) {
            metadataEvent("thread_name", e.getKey().pid(), e.getKey().tid(), e.getValue().name());
        }
        ProfileMetadata m = metadataNow();
        sb.append("\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":");
        JsonText.string(sb, SpyglassVersion.PRODUCER);
        other("command", m.commandLine());
        other("pid", m.pid() >= 0 ? Long.toString(m.pid()) : "");
        other("container", m.container());
        other("python", m.pythonVersion());
        other("mode", m.mode());
        other("interval_ms", m.interval().isZero() ? "" : GeckoProfileExporter.millis(m.interval().toNanos()));
        other("start_epoch_ns", m.startEpochNanos() > 0 ? Long.toString(m.startEpochNanos()) : "");
        other("trace_start_epoch_ns", baseNanos != Long.MIN_VALUE ? Long.toString(baseNanos) : "");
        other("samples", m.samples() >= 0 ? Long.toString(m.samples()) : "");
        other("torn_samples", m.tornSamples() >= 0 ? Long.toString(m.tornSamples()) : "");
        other("dropped_samples", m.droppedSamples() >= 0 ? Long.toString(m.droppedSamples()) : "");
        other("achieved_rate", Double.isNaN(m.achievedRate()) ? "" : JsonText.number(m.achievedRate()));
        sb.append("}}\n");
        w.append(sb);
        w.flush();
    }

    /** A string entry of {@code otherData} (viewers show its values as text), left out when empty. */
    private void other(String key, String value) {
        if (!value.isEmpty()) {
            sb.append(",\"").append(key).append("\":");
            JsonText.string(sb, value);
        }
    }

    /** Nanoseconds as microseconds, exactly ({@code 1500} is {@code 1.5}). */
    static String micros(long nanos) {
        long frac = nanos % 1000;
        if (frac == 0) {
            return Long.toString(nanos / 1000);
        }
        String digits = Long.toString(1000 + frac).substring(1);
        while (digits.endsWith("0")) {
            digits = digits.substring(0, digits.length() - 1);
        }
        return nanos / 1000 + "." + digits;
    }

    /** Options: idle threads, metadata (in {@code otherData}); lines are not told apart (a slice is a call). */
    public static final class Builder extends ExporterBuilder<Builder, ChromeTraceExporter> {
        private Builder() {
        }

        @Override
        public ChromeTraceExporter build(OutputStream out) {
            return new ChromeTraceExporter(out, this);
        }
    }
}
