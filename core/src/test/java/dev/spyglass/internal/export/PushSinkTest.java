package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import com.google.perftools.profiles.ProfileProto.Profile;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadState;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.PushSink;
import dev.spyglass.export.PushStats;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;
import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.profiles.v1development.KeyValueAndUnit;
import io.opentelemetry.proto.profiles.v1development.Location;
import io.opentelemetry.proto.profiles.v1development.ProfilesDictionary;
import io.opentelemetry.proto.profiles.v1development.Sample;

/**
 * {@link PushSink} against {@link ProfileReceiver}, a real HTTP receiver decoding with the official OTLP and pprof
 * classes, fed by a real sampled Python process: stacks, measured values, labels, auth headers, gzip, and delivery
 * across a receiver restart with every sample either received or counted as dropped.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("cpu-bound-target")
class PushSinkTest {

    @TempDir
    Path dir;

    record Pushed(List<StackSample> kept, PushStats stats, ProfileMetadata metadata) {
    }

    /** Told of each sample after the sink took it; returns false to stop sampling. */
    interface Driver {
        boolean sampled(PushSink sink, StackSample sample) throws Exception;
    }

    /**
     * Launches the hot script for {@code seconds} and pushes its samples through the sink {@code configure} builds
     * until the script ends or {@code driver} says stop.
     */
    private Pushed push(PythonInterpreter py, double seconds, Function<Sampler, PushSink.Builder> configure,
            Driver driver) throws Exception {
        Path script = dir.resolve("hot.py");
        Files.writeString(script, RealProcessExportTest.SCRIPT);
        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(1)).build();
        SamplingSession session = sampler.launch(py.processBuilder(script.toString(), Double.toString(seconds))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD));
        List<StackSample> kept = new ArrayList<>();
        ProfileMetadata base = ProfileMetadata.builder().command(py.commandLine(script.toString()))
                .pid(session.pid()).pythonVersion(session.version().toString()).mode("wall")
                .interval(Duration.ofMillis(1)).build();
        PushSink sink = configure.apply(sampler).metadata(() -> {
            SamplingStats s = session.stats();
            return base.toBuilder().samples(s.samples()).tornSamples(s.tornSamples())
                    .droppedSamples(s.droppedSamples()).achievedRate(s.achievedRate()).build();
        }).build();
        try (session; sink) {
            boolean[] more = {true};
            session.forEach(s -> {
                if (!more[0]) {
                    return; // stopping: the samples still queued are not pushed
                }
                sink.accept(s);
                if (!s.frames().isEmpty() && s.state() != ThreadState.IDLE) {
                    kept.add(s);
                }
                try {
                    more[0] = driver.sampled(sink, s);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                if (!more[0]) {
                    session.stop();
                }
            });
        } finally {
            session.process().orElseThrow().destroyForcibly();
        }
        assertThat(kept).as("samples of %s", py).hasSizeGreaterThan(100);
        return new Pushed(kept, sink.stats(), base);
    }

    @ForEachPython
    void otlpDeliversStacksValuesAndLabelsOfARealProcessOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (ProfileReceiver receiver = new ProfileReceiver()) {
            Pushed p = push(py, 3, s -> PushSink.builder(receiver.uri("/v1development/profiles"))
                    .interval(Duration.ofMillis(500)).serviceName("checkout").label("env", "test")
                    .header("Authorization", "Bearer s3cret"), (sink, s) -> true);
            String file = dir.resolve("hot.py").toString();

            assertThat(p.stats().samples()).isEqualTo(p.kept().size());
            assertThat(p.stats().samplesDropped()).isZero();
            assertThat(p.stats().samplesSent()).isEqualTo(p.kept().size());
            List<ProfileReceiver.Received> got = receiver.received();
            assertThat(got).isNotEmpty().allSatisfy(r -> {
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.headers()).containsEntry("authorization", "Bearer s3cret")
                        .containsEntry("content-encoding", "gzip")
                        .containsEntry("content-type", "application/x-protobuf");
                assertThat(r.otlp()).isNotNull();
            });

            long observations = 0;
            long weight = 0;
            Map<String, Long> leafTime = new HashMap<>();
            for (ProfileReceiver.Received r : got) {
                ExportProfilesServiceRequest request = r.otlp();
                ProfilesDictionary d = request.getDictionary();
                assertThat(d.getStringTable(0)).isEmpty();
                assertThat(d.getMappingTable(0).getSerializedSize()).isZero();
                assertThat(d.getLocationTable(0).getSerializedSize()).isZero();
                assertThat(d.getFunctionTable(0).getSerializedSize()).isZero();
                assertThat(d.getStackTable(0).getSerializedSize()).isZero();
                assertThat(d.getAttributeTable(0).getSerializedSize()).isZero();
                assertThat(d.getLinkTable(0).getTraceId().size()).isEqualTo(16);
                Map<String, AnyValue> resource = new HashMap<>();
                for (KeyValue kv : request.getResourceProfiles(0).getResource().getAttributesList()) {
                    resource.put(kv.getKey(), kv.getValue());
                }
                assertThat(resource.get("service.name").getStringValue()).isEqualTo("checkout");
                assertThat(resource.get("env").getStringValue()).isEqualTo("test");
                assertThat(resource.get("host.name").getStringValue()).isNotEmpty();
                assertThat(resource.get("process.pid").getIntValue()).isEqualTo(p.metadata().pid());
                assertThat(resource.get("process.runtime.name").getStringValue()).isEqualTo("CPython");
                assertThat(resource.get("process.runtime.version").getStringValue())
                        .isEqualTo(p.metadata().pythonVersion());
                assertThat(resource.get("process.command_line").getStringValue()).contains("hot.py");
                var scope = request.getResourceProfiles(0).getScopeProfiles(0);
                assertThat(scope.getScope().getName()).isEqualTo("spyglass");
                var profile = scope.getProfiles(0);
                assertThat(d.getStringTable(profile.getSampleType().getTypeStrindex())).isEqualTo("wall");
                assertThat(d.getStringTable(profile.getSampleType().getUnitStrindex())).isEqualTo("nanoseconds");
                assertThat(profile.getPeriod()).isEqualTo(1_000_000);
                assertThat(profile.getProfileId().size()).isEqualTo(16);
                Map<String, AnyValue> profileAttributes = attributes(d, profile.getAttributeIndicesList());
                assertThat(profileAttributes.get("spyglass.mode").getStringValue()).isEqualTo("wall");
                assertThat(profileAttributes).containsKeys("spyglass.torn_samples", "spyglass.dropped_samples",
                        "spyglass.achieved_rate");
                for (Sample s : profile.getSamplesList()) {
                    assertThat(s.getValuesCount()).isEqualTo(s.getTimestampsUnixNanoCount()).isPositive();
                    for (long t : s.getTimestampsUnixNanoList()) {
                        assertThat(t).isBetween(profile.getTimeUnixNano(),
                                profile.getTimeUnixNano() + profile.getDurationNano());
                    }
                    observations += s.getValuesCount();
                    long sum = s.getValuesList().stream().mapToLong(Long::longValue).sum();
                    weight += sum;
                    Map<String, AnyValue> sampleAttributes = attributes(d, s.getAttributeIndicesList());
                    assertThat(sampleAttributes).containsKeys("thread.id", "thread.name");
                    List<Integer> stack = d.getStackTable(s.getStackIndex()).getLocationIndicesList();
                    Location leaf = d.getLocationTable(stack.get(0));
                    var function = d.getFunctionTable(leaf.getLines(0).getFunctionIndex());
                    assertThat(attributes(d, leaf.getAttributeIndicesList()).get("profile.frame.type")
                            .getStringValue()).isEqualTo("cpython");
                    if (sampleAttributes.get("thread.name").getStringValue().equals("MainThread")) {
                        leafTime.merge(d.getStringTable(function.getNameStrindex()) + " "
                                + d.getStringTable(function.getFilenameStrindex()), sum, Long::sum);
                    }
                }
            }
            // Every kept sample arrived once, with its measured weight.
            assertThat(observations).isEqualTo(p.kept().size());
            assertThat(weight).isEqualTo(p.kept().stream().mapToLong(StackSample::weightNanos).sum());
            assertThat(leafTime.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                    .isEqualTo("hot_leaf " + file);
        }
    }

    private static Map<String, AnyValue> attributes(ProfilesDictionary d, List<Integer> indices) {
        Map<String, AnyValue> out = new HashMap<>();
        for (int i : indices) {
            KeyValueAndUnit kv = d.getAttributeTable(i);
            assertThat(out.put(d.getStringTable(kv.getKeyStrindex()), kv.getValue())).as("duplicate key").isNull();
        }
        return out;
    }

    @ForEachPython
    void pyroscopeDeliversPprofOfARealProcessWithItsLabelsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (ProfileReceiver receiver = new ProfileReceiver()) {
            // user:password in the address: basic authentication, as Grafana Cloud's Pyroscope takes it
            URI base = URI.create(receiver.uri("").toString().replace("http://", "http://1234:t%40ken@"));
            Pushed p = push(py, 3, s -> PushSink.builder(base).serviceName("checkout")
                    .interval(Duration.ofMillis(500)), (sink, s) -> true);
            assertThat(p.stats().samplesSent()).isEqualTo(p.kept().size());
            List<ProfileReceiver.Received> got = receiver.received();
            assertThat(got).isNotEmpty();
            long count = 0;
            long weight = 0;
            Map<String, Long> mainLeaves = new HashMap<>();
            for (ProfileReceiver.Received r : got) {
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.path()).isEqualTo("/ingest");
                assertThat(r.headers()).containsEntry("authorization", "Basic "
                        + Base64.getEncoder().encodeToString("1234:t@ken".getBytes(StandardCharsets.UTF_8)));
                assertThat(r.query()).containsEntry("format", "pprof").containsEntry("spyName", "spyglass")
                        .containsEntry("sampleRate", "1000");
                assertThat(r.query().get("name")).startsWith("checkout{hostname=")
                        .contains(",pid=" + p.metadata().pid() + ",")
                        .endsWith(",python_version=" + p.metadata().pythonVersion() + "}");
                long from = Long.parseLong(r.query().get("from"));
                assertThat(Long.parseLong(r.query().get("until"))).isGreaterThan(from);
                Profile pprof = r.pprof();
                assertThat(pprof.getTimeNanos() / 1_000_000_000L).isEqualTo(from);
                List<List<String>> stacks = PprofExporterTest.stacks(pprof);
                for (int i = 0; i < pprof.getSampleCount(); i++) {
                    var s = pprof.getSample(i);
                    count += s.getValue(0);
                    weight += s.getValue(1);
                    assertThat(PprofExporterTest.label(pprof, s, "pid")).isEqualTo(Long.toString(p.metadata().pid()));
                    assertThat(PprofExporterTest.label(pprof, s, "thread_id")).isNotNull();
                    if ("MainThread".equals(PprofExporterTest.label(pprof, s, "thread"))) {
                        List<String> st = stacks.get(i);
                        mainLeaves.merge(st.get(st.size() - 1).split(" ")[0], s.getValue(1), Long::sum);
                    }
                }
            }
            assertThat(count).isEqualTo(p.kept().size());
            assertThat(weight).isEqualTo(p.kept().stream().mapToLong(StackSample::weightNanos).sum());
            assertThat(mainLeaves.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                    .isEqualTo("hot_leaf");
        }
    }

    @Test
    void deliveryResumesAfterTheReceiverRestartsAndEverySampleIsReceivedOrCountedAsDropped() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        try (ProfileReceiver receiver = new ProfileReceiver()) {
            // 0: receiver up; 1: stopped; 2: restarted; 3: delivering again
            int[] phase = {0};
            int[] deliveredBeforeRestart = {0};
            long[] nextLook = {0};
            long deadline = System.nanoTime() + 60_000_000_000L;
            Pushed p = push(py, 90, s -> PushSink.builder(receiver.uri("/v1development/profiles"))
                    .interval(Duration.ofMillis(200)).bufferCapacity(2)
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(200)), (sink, s) -> {
                        long now = System.nanoTime();
                        if (now < nextLook[0]) {
                            return true;
                        }
                        nextLook[0] = now + 50_000_000L;
                        long delivered = receiver.received().stream().filter(r -> r.status() == 200).count();
                        PushStats stats = sink.stats();
                        switch (phase[0]) {
                            case 0 -> {
                                if (delivered >= 1) {
                                    receiver.stop();
                                    phase[0] = 1;
                                }
                            }
                            case 1 -> {
                                // Queue overflowed while the receiver was away: windows dropped and counted.
                                if (stats.windowsDropped() >= 1 && stats.failedAttempts() >= 2) {
                                    deliveredBeforeRestart[0] = (int) delivered;
                                    receiver.restart();
                                    phase[0] = 2;
                                }
                            }
                            default -> {
                                if (delivered >= deliveredBeforeRestart[0] + 3) {
                                    phase[0] = 3;
                                    return false;
                                }
                            }
                        }
                        return now < deadline;
                    });
            assertThat(phase[0]).as("phase reached (0 up, 1 stopped, 2 restarted, 3 delivered again)").isEqualTo(3);
            PushStats stats = p.stats();
            long received = 0;
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (ProfileReceiver.Received r : receiver.received()) {
                if (r.status() != 200) {
                    continue;
                }
                for (var profile : r.otlp().getResourceProfiles(0).getScopeProfiles(0).getProfilesList()) {
                    for (Sample s : profile.getSamplesList()) {
                        received += s.getTimestampsUnixNanoCount();
                        String thread = attributes(r.otlp().getDictionary(), s.getAttributeIndicesList())
                                .get("thread.id").toString();
                        for (long t : s.getTimestampsUnixNanoList()) {
                            assertThat(seen.add(thread + "@" + t)).as("sample delivered twice").isTrue();
                        }
                    }
                }
            }
            System.out.printf("push across a restart: %d samples, %d received, %d dropped in %d windows, "
                    + "%d failed attempts (last: %s)%n", stats.samples(), received, stats.samplesDropped(),
                    stats.windowsDropped(), stats.failedAttempts(), stats.lastError());
            assertThat(stats.samples()).isEqualTo(p.kept().size());
            assertThat(stats.samplesSent()).isEqualTo(received);
            assertThat(received + stats.samplesDropped()).as("received + counted drops").isEqualTo(p.kept().size());
            assertThat(stats.windowsDropped()).isPositive();
            assertThat(stats.samplesDropped()).isPositive();
            assertThat(stats.failedAttempts()).isGreaterThanOrEqualTo(2);
            // Mostly "cannot connect to 127.0.0.1:PORT"; a request cut by the stop reads differently.
            assertThat(stats.lastError()).isNotEmpty();
        }
    }

    @Test
    void aRefusedWindowIsDroppedAndCountedWithoutRetrying() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 12);
        try (ProfileReceiver receiver = new ProfileReceiver()) {
            receiver.answer(401);
            Pushed p = push(py, 2, s -> PushSink.builder(receiver.uri("/ingest")).interval(Duration.ofMillis(300))
                    .gzip(false), (sink, s) -> true);
            PushStats stats = p.stats();
            assertThat(stats.samplesSent()).isZero();
            assertThat(stats.samplesDropped()).isEqualTo(p.kept().size());
            assertThat(stats.windowsDropped()).isEqualTo(receiver.received().size()).isPositive();
            assertThat(stats.failedAttempts()).isEqualTo(receiver.received().size());
            assertThat(stats.lastError()).startsWith("HTTP 401 from 127.0.0.1:");
        }
    }
}
