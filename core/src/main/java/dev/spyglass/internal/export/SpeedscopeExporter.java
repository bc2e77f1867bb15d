package dev.spyglass.internal.export;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * speedscope's JSON file format ({@code https://www.speedscope.app/file-format-schema.json}): one
 * {@code sampled} profile per thread, in nanoseconds, samples in time order (consecutive identical stacks
 * merged into one sample carrying the summed weight), frames shared between profiles, named like the
 * collapsed format's frames ({@code Outer.leaf (/app/x.py:9)}) and carrying file and line. A native frame is named
 * {@code function (library)} ({@code qsort (libc.so.6)}) and its {@code file} is the object's path, with no line, so
 * a search for a library finds its frames; a kernel frame is named {@code function [kernel]}
 * ({@code vfs_read [kernel]}, as {@code spyglass dump} shows it) with {@code file} {@code [kernel]}, so a search
 * for {@code [kernel]} finds them all; a pseudo-frame has its label alone and no file. The busiest thread's
 * profile is the one speedscope opens. A profile is named after its thread ({@code thread 1240 (MainThread)}), after
 * its process too when several were sampled ({@code process 1234 (python3 work.py) thread 1240 (MainThread)}), and
 * when the target runs in a container ({@link ProfileMetadata#container()}) after that first
 * ({@code container 3f2a9c1b2d4e thread 1240 (MainThread)}): speedscope's profile list is its outermost level.
 * Samples without frames, and idle ones unless {@link ExporterBuilder#includeIdle(boolean) kept}, are left
 * out. The file is written at {@link #close()}.
 */
public final class SpeedscopeExporter extends StreamExporter {

    /** This format's name ({@link dev.spyglass.export.Exporter#formatName()}). */
    public static final String FORMAT_NAME = "speedscope";

    private static final class ThreadProfile {
        ThreadKey thread;
        final List<int[]> stacks = new ArrayList<>();
        final List<long[]> weightsAndCounts = new ArrayList<>();
        long totalWeight;
        long totalCount;

        void add(int[] rootFirst, long weight, long count) {
            int last = stacks.size() - 1;
            if (last >= 0 && Arrays.equals(stacks.get(last), rootFirst)) {
                long[] wc = weightsAndCounts.get(last);
                wc[0] += weight;
                wc[1] += count;
            } else {
                stacks.add(rootFirst);
                weightsAndCounts.add(new long[] {weight, count});
            }
            totalWeight += weight;
            totalCount += count;
        }

        /** Appends {@code other}'s samples (a root of several threads: one thread's after another's). */
        void addAll(ThreadProfile other) {
            for (int i = 0; i < other.stacks.size(); i++) {
                long[] wc = other.weightsAndCounts.get(i);
                add(other.stacks.get(i), wc[0], wc[1]);
            }
        }
    }

    private final Map<FrameKey, Integer> frameIndex = new HashMap<>();
    private final List<FrameKey> frames = new ArrayList<>();
    private final Map<ThreadId, ThreadProfile> threads = new LinkedHashMap<>();
    private final ThreadRoots roots;

    private SpeedscopeExporter(OutputStream out, Builder options) {
        super(out, FORMAT_NAME, options);
        this.roots = new ThreadRoots(options.threads);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    void write(StackSample sample) {
        if (!keepsForAggregate(sample)) {
            return;
        }
        List<Frame> stack = sample.frames();
        int[] rootFirst = new int[stack.size()];
        for (int i = 0; i < rootFirst.length; i++) {
            FrameKey key = FrameKey.of(stack.get(stack.size() - 1 - i), lineNumbers);
            rootFirst[i] = frameIndex.computeIfAbsent(key, k -> {
                frames.add(k);
                return frames.size() - 1;
            });
        }
        threads.computeIfAbsent(roots.observe(sample), k -> new ThreadProfile())
                .add(rootFirst, Math.max(0, sample.weightNanos()), 1);
    }

    /** One profile per root, in order of first appearance: the threads' own, or merged. */
    private List<ThreadProfile> rootProfiles() {
        Map<ThreadId, ThreadKey> rootOf = roots.roots();
        Map<ThreadKey, ThreadProfile> merged = new LinkedHashMap<>();
        for (Map.Entry<ThreadId, ThreadProfile> e : threads.entrySet()) {
            ThreadKey root = rootOf.get(e.getKey());
            ThreadProfile p = e.getValue();
            if (root.threads() == 1) {
                p.thread = root;
                merged.put(root, p);
            } else {
                ThreadProfile into = merged.computeIfAbsent(root, k -> new ThreadProfile());
                into.thread = root;
                into.addAll(p);
            }
        }
        return new ArrayList<>(merged.values());
    }

    @Override
    void finish() throws IOException {
        ProfileMetadata m = metadataNow();
        Writer w = utf8Writer(out);
        StringBuilder sb = new StringBuilder(1 << 12);
        String name = m.commandLine().isEmpty() ? (m.pid() >= 0 ? "process " + m.pid() : "spyglass profile")
                : m.commandLine();
        List<ThreadProfile> profiles = rootProfiles();
        int active = 0;
        for (int i = 1; i < profiles.size(); i++) {
            if (profiles.get(i).totalCount > profiles.get(active).totalCount) {
                active = i;
            }
        }
        sb.append("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":");
        JsonText.string(sb, SpyglassVersion.PRODUCER).append(",\"name\":");
        JsonText.string(sb, name).append(",\"activeProfileIndex\":").append(active)
                .append(",\"shared\":{\"frames\":[");
        for (int i = 0; i < frames.size(); i++) {
            FrameKey f = frames.get(i);
            sb.append(i == 0 ? "" : ",").append("{\"name\":");
            // speedscope lists frames by name alone (sandwich view, search): the name carries file and line
            // too, as in the collapsed format, so two lines of one function stay apart.
            JsonText.string(sb, f.label());
            if (!f.file().isEmpty()) {
                sb.append(",\"file\":");
                JsonText.string(sb, f.file());
            }
            if (f.line() > 0) {
                sb.append(",\"line\":").append(f.line());
            }
            sb.append('}');
            if (sb.length() > 1 << 15) {
                w.append(sb);
                sb.setLength(0);
            }
        }
        sb.append("]},\"profiles\":[");
        String unit = weighsBytes(metadataNow()) ? "bytes" : "nanoseconds";
        String container = ThreadKey.containerLabel(m.container());
        String prefix = container.isEmpty() ? "" : container + " ";
        for (int pi = 0; pi < profiles.size(); pi++) {
            ThreadProfile p = profiles.get(pi);
            // Without any weight (a source that does not time its samples) the samples are counted instead.
            boolean counted = p.totalWeight == 0;
            sb.append(pi == 0 ? "" : ",").append("{\"type\":\"sampled\",\"name\":");
            JsonText.string(sb, prefix + (profiles.size() > 1 && hasSeveralProcesses()
                    ? p.thread.processLabel() + " " + p.thread.label() : p.thread.label()));
            sb.append(",\"unit\":\"").append(counted ? "none" : unit).append("\",\"startValue\":0")
                    .append(",\"endValue\":").append(counted ? p.totalCount : p.totalWeight).append(",\"samples\":[");
            for (int i = 0; i < p.stacks.size(); i++) {
                int[] stack = p.stacks.get(i);
                sb.append(i == 0 ? "[" : ",[");
                for (int j = 0; j < stack.length; j++) {
                    sb.append(j == 0 ? "" : ",").append(stack[j]);
                }
                sb.append(']');
                if (sb.length() > 1 << 15) {
                    w.append(sb);
                    sb.setLength(0);
                }
            }
            sb.append("],\"weights\":[");
            for (int i = 0; i < p.weightsAndCounts.size(); i++) {
                long[] wc = p.weightsAndCounts.get(i);
                sb.append(i == 0 ? "" : ",").append(counted ? wc[1] : wc[0]);
                if (sb.length() > 1 << 15) {
                    w.append(sb);
                    sb.setLength(0);
                }
            }
            sb.append("]}");
        }
        sb.append("]}\n");
        w.append(sb);
        w.flush();
    }

    private boolean hasSeveralProcesses() {
        return threads.keySet().stream().mapToLong(ThreadId::pid).distinct().count() > 1;
    }

    /** Options: line numbers, idle threads, metadata (the profile's name is the command line). */
    public static final class Builder extends ExporterBuilder<Builder, SpeedscopeExporter> {
        private Builder() {
        }

        @Override
        public SpeedscopeExporter build(OutputStream out) {
            return new SpeedscopeExporter(out, this);
        }
    }
}
