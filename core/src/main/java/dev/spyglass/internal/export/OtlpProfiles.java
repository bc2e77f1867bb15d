package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;

/**
 * One window of samples as an OTLP {@code ExportProfilesServiceRequest}, written by hand from
 * {@code opentelemetry-proto} 1.11.0 ({@code opentelemetry/proto/collector/profiles/v1development/profiles_service.proto}
 * and {@code opentelemetry/proto/profiles/v1development/profiles.proto}), the layout where the request carries one
 * {@code ProfilesDictionary} (mapping, location, function, link, string, attribute and stack tables, each with the
 * zero value at index 0) and a {@code Profile} has one {@code sample_type}.
 *
 * <p>One {@code Sample} per distinct stack and thread, whose {@code values} are the samples' measured weights in
 * nanoseconds ({@link StackSample#weightNanos()}) and whose {@code timestamps_unix_nano} are when each was taken:
 * the per-observation shape, so a receiver sees every sample. Sample attributes {@code thread.id} and
 * {@code thread.name}; locations carry {@code profile.frame.type} ({@code cpython}, {@code native},
 * {@code kernel}; OpenTelemetry's profiling semantic conventions). The resource holds {@code service.name},
 * {@code host.name}, {@code process.pid}, {@code process.command_line}, {@code process.runtime.name}
 * ({@code CPython}), {@code process.runtime.version}, {@code container.id} (the short id, when the target runs in a
 * container) and the caller's labels; the profile's attributes the
 * recording's mode, interval, achieved rate and torn and dropped counts ({@code spyglass.*}).
 *
 * <p>Not thread-safe: the caller serialises {@link #add} and {@link #encode}.
 */
public final class OtlpProfiles {

    // ExportProfilesServiceRequest
    private static final int REQUEST_RESOURCE_PROFILES = 1;
    private static final int REQUEST_DICTIONARY = 2;
    // ProfilesDictionary
    private static final int DICT_MAPPING = 1;
    private static final int DICT_LOCATION = 2;
    private static final int DICT_FUNCTION = 3;
    private static final int DICT_LINK = 4;
    private static final int DICT_STRING = 5;
    private static final int DICT_ATTRIBUTE = 6;
    private static final int DICT_STACK = 7;
    // Profile
    private static final int PROFILE_SAMPLE_TYPE = 1;
    private static final int PROFILE_SAMPLES = 2;
    private static final int PROFILE_TIME = 3;
    private static final int PROFILE_DURATION = 4;
    private static final int PROFILE_PERIOD_TYPE = 5;
    private static final int PROFILE_PERIOD = 6;
    private static final int PROFILE_ID = 7;
    private static final int PROFILE_ATTRIBUTES = 11;

    /** What this producer calls itself in the instrumentation scope. */
    public static final String SCOPE_NAME = "spyglass";

    private record SeriesKey(long tid, String threadName, List<Frame> frames) {
    }

    private static final class Series {
        long[] timestamps = new long[4];
        long[] weights = new long[4];
        int count;

        void add(long timestamp, long weight) {
            if (count == timestamps.length) {
                timestamps = Arrays.copyOf(timestamps, count * 2);
                weights = Arrays.copyOf(weights, count * 2);
            }
            timestamps[count] = timestamp;
            weights[count++] = weight;
        }
    }

    private record FunctionKey(Frame.FrameKind kind, String name, String file) {
    }

    private final Map<SeriesKey, Series> series = new LinkedHashMap<>();
    private long samples;

    /** Adds one sample of the window. */
    public void add(StackSample sample) {
        Objects.requireNonNull(sample, "sample");
        long tid = sample.nativeThreadId() != -1 ? sample.nativeThreadId() : sample.pythonThreadId();
        series.computeIfAbsent(new SeriesKey(tid, sample.threadName(), sample.frames()), k -> new Series())
                .add(sample.timestampNanos(), Math.max(0, sample.weightNanos()));
        samples++;
    }

    /** Samples added since the last {@link #clear()}. */
    public long samples() {
        return samples;
    }

    /** Forgets every sample. */
    public void clear() {
        series.clear();
        samples = 0;
    }

    /**
     * The request for the samples added so far, not compressed.
     *
     * @param metadata    the recording's metadata (pid, command, Python version, mode, interval, counts)
     * @param resource    resource attributes: {@code service.name}, {@code host.name} and the caller's labels, in order
     * @param startNanos  the window's start, nanoseconds since the epoch
     * @param endNanos    the window's end
     * @param profileId   16 bytes identifying this profile
     */
    public byte[] encode(ProfileMetadata metadata, Map<String, String> resource, long startNanos, long endNanos,
            byte[] profileId) {
        Strings strings = new Strings();
        Attributes attributes = new Attributes(strings);
        ProtoBuffer a = new ProtoBuffer();
        ProtoBuffer b = new ProtoBuffer();

        // The dictionary tables, index 0 the zero value in each.
        Map<String, Integer> mappings = new LinkedHashMap<>();
        Map<FrameKey, Integer> locations = new LinkedHashMap<>();
        Map<FunctionKey, Integer> functions = new LinkedHashMap<>();
        Map<FunctionKey, Integer> startLines = new HashMap<>();
        Map<List<Integer>, Integer> stacks = new LinkedHashMap<>();
        ProtoBuffer samplesOut = new ProtoBuffer();
        long[] ids = new long[64];
        for (Map.Entry<SeriesKey, Series> e : series.entrySet()) {
            List<Frame> frames = e.getKey().frames();
            List<Integer> locationIds = new ArrayList<>(frames.size());
            for (Frame f : frames) { // innermost first, as OTLP's Stack wants the leaf first
                FrameKey key = FrameKey.of(f, true);
                FunctionKey fk = new FunctionKey(key.kind(), key.name(), key.file());
                functions.computeIfAbsent(fk, k -> functions.size() + 1);
                if (f.firstLine() > 0) {
                    startLines.merge(fk, f.firstLine(), Math::min);
                }
                if (key.isNative() || key.isKernel()) {
                    mappings.computeIfAbsent(mappingName(key), k -> mappings.size() + 1);
                }
                locationIds.add(locations.computeIfAbsent(key, k -> locations.size() + 1));
            }
            int stack = stacks.computeIfAbsent(List.copyOf(locationIds), k -> stacks.size() + 1);
            Series s = e.getValue();
            a.reset();
            a.int64(1, stack);
            int n = 0;
            if (e.getKey().tid() != -1) {
                ids[n++] = attributes.intValue("thread.id", e.getKey().tid());
            }
            ids[n++] = attributes.stringValue("thread.name", e.getKey().threadName());
            a.packed(2, ids, n);
            a.packed(4, s.weights, s.count);
            a.packedFixed64(5, s.timestamps, s.count);
            samplesOut.message(PROFILE_SAMPLES, a);
        }

        String timeType = metadata.mode().equals("cpu") || metadata.mode().equals("gil") ? "cpu" : "wall";
        ProtoBuffer profile = new ProtoBuffer();
        // Memory modes weigh bytes (RSS growth or released, page faults), as the pprof exporter's memory/bytes.
        boolean bytes = StreamExporter.weighsBytes(metadata);
        valueType(profile, PROFILE_SAMPLE_TYPE, strings.id(bytes ? "memory" : timeType),
                strings.id(bytes ? "bytes" : "nanoseconds"), a);
        profile.append(samplesOut);
        profile.fixed64(PROFILE_TIME, startNanos);
        profile.int64(PROFILE_DURATION, Math.max(0, endNanos - startNanos));
        valueType(profile, PROFILE_PERIOD_TYPE, strings.id(timeType), strings.id("nanoseconds"), a);
        profile.int64(PROFILE_PERIOD, metadata.interval().toNanos());
        profile.bytes(PROFILE_ID, profileId);
        List<Long> profileAttributes = new ArrayList<>();
        if (!metadata.mode().isEmpty()) {
            profileAttributes.add((long) attributes.stringValue("spyglass.mode", metadata.mode()));
        }
        if (!metadata.interval().isZero()) {
            profileAttributes.add((long) attributes.intValue("spyglass.interval_ns", metadata.interval().toNanos()));
        }
        if (!Double.isNaN(metadata.achievedRate())) {
            profileAttributes.add((long) attributes.doubleValue("spyglass.achieved_rate", metadata.achievedRate()));
        }
        if (metadata.tornSamples() >= 0) {
            profileAttributes.add((long) attributes.intValue("spyglass.torn_samples", metadata.tornSamples()));
        }
        if (metadata.droppedSamples() >= 0) {
            profileAttributes.add((long) attributes.intValue("spyglass.dropped_samples", metadata.droppedSamples()));
        }
        profile.packed(PROFILE_ATTRIBUTES, profileAttributes.stream().mapToLong(Long::longValue).toArray(),
                profileAttributes.size());

        // ResourceProfiles { resource, scope_profiles { scope, profiles } }
        ProtoBuffer resourceOut = new ProtoBuffer();
        Map<String, Object> resourceAttributes = new LinkedHashMap<>(resource);
        if (metadata.pid() > 0) {
            resourceAttributes.put("process.pid", metadata.pid());
        }
        if (!metadata.command().isEmpty()) {
            resourceAttributes.put("process.command_line", metadata.commandLine());
        }
        if (!metadata.container().isEmpty()) {
            // OpenTelemetry's resource convention for the container (it allows the abbreviated id).
            resourceAttributes.put("container.id", metadata.container());
        }
        resourceAttributes.put("process.runtime.name", "CPython");
        if (!metadata.pythonVersion().isEmpty()) {
            resourceAttributes.put("process.runtime.version", metadata.pythonVersion());
        }
        for (Map.Entry<String, Object> e : resourceAttributes.entrySet()) {
            a.reset();
            a.string(1, e.getKey());
            b.reset();
            if (e.getValue() instanceof Long n) {
                b.int64(3, n);
            } else {
                b.string(1, e.getValue().toString());
            }
            a.message(2, b);
            resourceOut.message(1, a);
        }
        ProtoBuffer scope = new ProtoBuffer();
        a.reset();
        a.string(1, SCOPE_NAME);
        a.string(2, SpyglassVersion.PRODUCER.substring(SpyglassVersion.PRODUCER.indexOf(' ') + 1));
        scope.message(1, a);
        scope.message(2, profile);
        ProtoBuffer resourceProfiles = new ProtoBuffer();
        resourceProfiles.message(1, resourceOut);
        resourceProfiles.message(2, scope);

        ProtoBuffer dictionary = new ProtoBuffer();
        a.reset();
        dictionary.message(DICT_MAPPING, a); // Mapping{}
        for (String name : mappings.keySet()) {
            a.reset();
            a.int64(4, strings.id(name));
            dictionary.message(DICT_MAPPING, a);
        }
        a.reset();
        dictionary.message(DICT_LOCATION, a); // Location{}
        long frameType = strings.id("profile.frame.type");
        for (FrameKey f : locations.keySet()) {
            a.reset();
            if (f.isNative() || f.isKernel()) {
                a.int64(1, mappings.get(mappingName(f)));
            }
            b.reset();
            b.int64(1, functions.get(new FunctionKey(f.kind(), f.name(), f.file())));
            b.int64(2, f.line());
            a.message(3, b);
            a.int64(4, attributes.stringValue(frameType, frameTypeOf(f.kind())));
            dictionary.message(DICT_LOCATION, a);
        }
        a.reset();
        dictionary.message(DICT_FUNCTION, a); // Function{}
        for (FunctionKey f : functions.keySet()) {
            a.reset();
            a.int64(1, strings.id(f.name()));
            if (f.kind() == Frame.FrameKind.NATIVE || f.kind() == Frame.FrameKind.KERNEL) {
                a.int64(2, strings.id(f.name()));
            }
            a.int64(3, strings.id(f.file()));
            a.int64(4, startLines.getOrDefault(f, 0));
            dictionary.message(DICT_FUNCTION, a);
        }
        // link_table[0]: the zero Link with 16- and 8-byte zero ids, as the proto recommends.
        a.reset();
        a.bytes(1, new byte[16]);
        a.bytes(2, new byte[8]);
        dictionary.message(DICT_LINK, a);
        for (String s : strings.list) {
            dictionary.string(DICT_STRING, s);
        }
        for (ProtoBuffer attribute : attributes.list) {
            dictionary.message(DICT_ATTRIBUTE, attribute);
        }
        a.reset();
        dictionary.message(DICT_STACK, a); // Stack{}
        for (List<Integer> stack : stacks.keySet()) {
            a.reset();
            for (int i = 0; i < stack.size(); i++) {
                if (ids.length <= i) {
                    ids = Arrays.copyOf(ids, stack.size());
                }
                ids[i] = stack.get(i);
            }
            a.packed(1, ids, stack.size());
            dictionary.message(DICT_STACK, a);
        }

        ProtoBuffer request = new ProtoBuffer();
        request.message(REQUEST_RESOURCE_PROFILES, resourceProfiles);
        request.message(REQUEST_DICTIONARY, dictionary);
        return request.toByteArray();
    }

    /** OpenTelemetry's {@code profile.frame.type} values for our frame kinds. */
    private static String frameTypeOf(Frame.FrameKind kind) {
        return switch (kind) {
            case PYTHON -> "cpython";
            case NATIVE -> "native";
            case KERNEL -> "kernel";
            case PSEUDO -> "cpython";
        };
    }

    private static String mappingName(FrameKey f) {
        return f.isKernel() ? PprofExporter.KERNEL_MAPPING : f.file();
    }

    private static void valueType(ProtoBuffer into, int field, long type, long unit, ProtoBuffer scratch) {
        scratch.reset();
        scratch.int64(1, type);
        scratch.int64(2, unit);
        into.message(field, scratch);
    }

    /** The string table, "" first. */
    private static final class Strings {
        final Map<String, Integer> index = new HashMap<>();
        final List<String> list = new ArrayList<>();

        Strings() {
            id("");
        }

        int id(String s) {
            return index.computeIfAbsent(s, k -> {
                list.add(k);
                return list.size() - 1;
            });
        }
    }

    /** The attribute table ({@code KeyValueAndUnit}), the zero value first, each distinct pair once. */
    private static final class Attributes {
        final Strings strings;
        final Map<List<Object>, Integer> index = new HashMap<>();
        final List<ProtoBuffer> list = new ArrayList<>();

        Attributes(Strings strings) {
            this.strings = strings;
            list.add(new ProtoBuffer());
        }

        int stringValue(String key, String value) {
            return stringValue(strings.id(key), value);
        }

        int stringValue(long keyId, String value) {
            return index.computeIfAbsent(List.of(keyId, "s", value), k -> {
                ProtoBuffer anyValue = new ProtoBuffer();
                anyValue.string(1, value);
                return add(keyId, anyValue);
            });
        }

        int intValue(String key, long value) {
            long keyId = strings.id(key);
            return index.computeIfAbsent(List.of(keyId, "i", value), k -> {
                ProtoBuffer anyValue = new ProtoBuffer();
                anyValue.int64Always(3, value);
                return add(keyId, anyValue);
            });
        }

        int doubleValue(String key, double value) {
            long keyId = strings.id(key);
            return index.computeIfAbsent(List.of(keyId, "d", value), k -> {
                ProtoBuffer anyValue = new ProtoBuffer();
                anyValue.float64(4, value);
                return add(keyId, anyValue);
            });
        }

        private int add(long keyId, ProtoBuffer anyValue) {
            ProtoBuffer kv = new ProtoBuffer();
            kv.int64(1, keyId);
            kv.message(2, anyValue);
            list.add(kv);
            return list.size() - 1;
        }
    }
}
