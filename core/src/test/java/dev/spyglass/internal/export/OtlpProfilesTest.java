package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.PushSink;
import io.opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.profiles.v1development.Function;
import io.opentelemetry.proto.profiles.v1development.Location;
import io.opentelemetry.proto.profiles.v1development.Profile;
import io.opentelemetry.proto.profiles.v1development.ProfilesDictionary;
import io.opentelemetry.proto.profiles.v1development.Sample;

/** {@link OtlpProfiles} decoded with the official {@code opentelemetry-proto} 1.11.0 classes. */
class OtlpProfilesTest {

    private static final Frame NATIVE = Frame.nativeFrame("PyObject_Vectorcall", "/usr/lib/libpython3.12.so.1.0");
    private static final Frame KERNEL = Frame.kernelFrame("do_sys_poll");

    private static ExportProfilesServiceRequest encode(List<StackSample> samples) throws Exception {
        OtlpProfiles profiles = new OtlpProfiles();
        samples.forEach(profiles::add);
        assertThat(profiles.samples()).isEqualTo(samples.size());
        Map<String, String> resource = new LinkedHashMap<>();
        resource.put("service.name", "x");
        resource.put("host.name", "box");
        byte[] id = new byte[16];
        id[3] = 7;
        return ExportProfilesServiceRequest.parseFrom(profiles.encode(METADATA, resource, T0, T0 + 150_000_000L, id));
    }

    @Test
    void everyObservationKeepsItsTimeAndWeightUnderItsStackAndThread() throws Exception {
        List<StackSample> samples = samples();
        ExportProfilesServiceRequest r = encode(samples);
        ProfilesDictionary d = r.getDictionary();
        Profile p = r.getResourceProfiles(0).getScopeProfiles(0).getProfiles(0);
        assertThat(p.getTimeUnixNano()).isEqualTo(T0);
        assertThat(p.getDurationNano()).isEqualTo(150_000_000L);
        assertThat(p.getProfileId().byteAt(3)).isEqualTo((byte) 7);
        assertThat(d.getStringTableList()).doesNotHaveDuplicates();

        Map<String, Object> profileAttributes = new HashMap<>();
        for (int i : p.getAttributeIndicesList()) {
            AnyValue v = d.getAttributeTable(i).getValue();
            profileAttributes.put(d.getStringTable(d.getAttributeTable(i).getKeyStrindex()),
                    v.hasDoubleValue() ? v.getDoubleValue() : v.hasIntValue() ? v.getIntValue() : v.getStringValue());
        }
        assertThat(profileAttributes).containsEntry("spyglass.mode", "wall")
                .containsEntry("spyglass.interval_ns", 1_000_000L).containsEntry("spyglass.achieved_rate", 987.5)
                .containsEntry("spyglass.torn_samples", 5L).containsEntry("spyglass.dropped_samples", 0L);

        // Rebuild (thread, leaf-first stack, timestamp, weight) for every observation and compare with the input.
        List<String> decoded = new ArrayList<>();
        for (Sample s : p.getSamplesList()) {
            String thread = "";
            for (int i : s.getAttributeIndicesList()) {
                var kv = d.getAttributeTable(i);
                if (d.getStringTable(kv.getKeyStrindex()).equals("thread.id")) {
                    thread = Long.toString(kv.getValue().getIntValue());
                }
            }
            List<String> stack = new ArrayList<>();
            for (int l : d.getStackTable(s.getStackIndex()).getLocationIndicesList()) {
                Location loc = d.getLocationTable(l);
                Function f = d.getFunctionTable(loc.getLines(0).getFunctionIndex());
                stack.add(d.getStringTable(f.getNameStrindex()) + ":" + loc.getLines(0).getLine());
            }
            for (int i = 0; i < s.getValuesCount(); i++) {
                decoded.add(thread + " " + stack + " " + s.getTimestampsUnixNano(i) + " " + s.getValues(i));
            }
        }
        List<String> expected = new ArrayList<>();
        for (StackSample s : samples) {
            List<String> stack = s.frames().stream().map(f -> (f.qualifiedName().isEmpty() ? f.function()
                    : f.qualifiedName()) + ":" + f.line()).toList();
            expected.add(s.nativeThreadId() + " " + stack + " " + s.timestampNanos() + " " + s.weightNanos());
        }
        assertThat(decoded).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void nativeAndKernelFramesHaveTheirMappingAndFrameType() throws Exception {
        Frame leaf = Frame.python("leaf", "Outer.leaf", "/app/x.py", 9, 8);
        StackSample s = new StackSample(new ThreadStack(PID, MAIN_TID, 1, "MainThread", 0, ThreadState.IDLE, null,
                List.of(KERNEL, NATIVE, leaf)), T0, WEIGHT);
        ExportProfilesServiceRequest r = encode(List.of(s));
        ProfilesDictionary d = r.getDictionary();
        List<Integer> stack = d.getStackTable(r.getResourceProfiles(0).getScopeProfiles(0).getProfiles(0)
                .getSamples(0).getStackIndex()).getLocationIndicesList();
        List<String> seen = new ArrayList<>();
        for (int l : stack) {
            Location loc = d.getLocationTable(l);
            Function f = d.getFunctionTable(loc.getLines(0).getFunctionIndex());
            String type = d.getAttributeTable(loc.getAttributeIndices(0)).getValue().getStringValue();
            String mapping = loc.getMappingIndex() == 0 ? "-"
                    : d.getStringTable(d.getMappingTable(loc.getMappingIndex()).getFilenameStrindex());
            seen.add(d.getStringTable(f.getNameStrindex()) + "|" + d.getStringTable(f.getSystemNameStrindex()) + "|"
                    + d.getStringTable(f.getFilenameStrindex()) + "|" + f.getStartLine() + "|" + type + "|" + mapping);
        }
        assertThat(seen).containsExactly(
                "do_sys_poll|do_sys_poll|[kernel]|0|kernel|[kernel.kallsyms]",
                "PyObject_Vectorcall|PyObject_Vectorcall|/usr/lib/libpython3.12.so.1.0|0|native|"
                        + "/usr/lib/libpython3.12.so.1.0",
                "Outer.leaf||/app/x.py|8|cpython|-");
        var resource = r.getResourceProfiles(0).getResource().getAttributesList();
        assertThat(resource).extracting(kv -> kv.getKey()).containsExactly("service.name", "host.name",
                "process.pid", "process.command_line", "process.runtime.name", "process.runtime.version");
        assertThat(resource.get(3).getValue().getStringValue()).isEqualTo("python3 x.py --n 3");
    }

    @Test
    void theFormatFollowsTheAddressAndBadAddressesAreRefused() {
        assertThat(PushSink.Format.of(URI.create("http://c:4318/v1development/profiles")))
                .isEqualTo(PushSink.Format.OTLP);
        assertThat(PushSink.Format.of(URI.create("http://p:4040"))).isEqualTo(PushSink.Format.PYROSCOPE);
        assertThat(PushSink.Format.of(URI.create("http://p:4040/ingest"))).isEqualTo(PushSink.Format.PYROSCOPE);
        assertThat(PushSink.Format.parse("OTLP")).isEqualTo(PushSink.Format.OTLP);
        assertThatThrownBy(() -> PushSink.Format.parse("parca")).hasMessageContaining("otlp or pyroscope");
        assertThatThrownBy(() -> PushSink.builder(URI.create("ftp://x/")))
                .hasMessageContaining("http:// or https://");
        assertThatThrownBy(() -> PushSink.builder(URI.create("http://x/")).interval(java.time.Duration.ofMillis(5)))
                .hasMessageContaining("at least 100ms");
    }

    @Test
    void pyroscopeLabelsKeepOutTheCharactersOfItsNameSyntax() {
        assertThat(dev.spyglass.internal.push.PyroscopeWindow.labelName("k8s.pod-name")).isEqualTo("k8s_pod_name");
        assertThat(dev.spyglass.internal.push.PyroscopeWindow.labelName("9lives")).isEqualTo("_9lives");
        assertThat(dev.spyglass.internal.push.PyroscopeWindow.labelValue("a,b=c{d} e")).isEqualTo("a_b_c_d__e");
    }
}
