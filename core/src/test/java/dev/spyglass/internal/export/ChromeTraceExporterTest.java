package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/** The Trace Event Format of the synthetic profile, read back by an independent check of its rules. */
class ChromeTraceExporterTest {

    /**
     * What a trace holds, checked as the Trace Event Format requires of duration events: per thread, every
     * {@code E} ends the latest open {@code B}, none stays open, and times never go back.
     *
     * @param durations per "pid/tid", each function's summed slice time in microseconds
     * @param threadNames per "pid/tid", the thread names in the order of their metadata events
     */
    record Trace(JsonNode root, Map<String, Map<String, Double>> durations, Map<String, List<String>> threadNames) {
    }

    static Trace check(byte[] json) throws Exception {
        JsonNode root = JsonLinesExporterTest.JSON.readTree(json);
        Map<String, List<String[]>> open = new HashMap<>();
        Map<String, Double> lastTs = new HashMap<>();
        Map<String, Map<String, Double>> durations = new HashMap<>();
        Map<String, List<String>> names = new HashMap<>();
        for (JsonNode e : root.get("traceEvents")) {
            String thread = e.get("pid").asLong() + "/" + e.get("tid").asLong();
            String ph = e.get("ph").asText();
            if (ph.equals("M")) {
                if (e.get("name").asText().equals("thread_name")) {
                    names.computeIfAbsent(thread, k -> new ArrayList<>()).add(e.get("args").get("name").asText());
                }
                continue;
            }
            double ts = e.get("ts").asDouble();
            assertThat(ts).as("time of %s after %s", e, lastTs.get(thread))
                    .isGreaterThanOrEqualTo(lastTs.getOrDefault(thread, 0.0));
            lastTs.put(thread, ts);
            List<String[]> stack = open.computeIfAbsent(thread, k -> new ArrayList<>());
            if (ph.equals("B")) {
                stack.add(new String[] {e.get("name").asText(), Double.toString(ts)});
            } else {
                assertThat(ph).isEqualTo("E");
                assertThat(stack).as("an open slice for %s", e).isNotEmpty();
                String[] b = stack.remove(stack.size() - 1);
                durations.computeIfAbsent(thread, k -> new HashMap<>()).merge(b[0], ts - Double.parseDouble(b[1]),
                        Double::sum);
            }
        }
        open.forEach((thread, stack) -> assertThat(stack).as("slices left open on %s", thread).isEmpty());
        return new Trace(root, durations, names);
    }

    static Trace write(List<StackSample> samples, ChromeTraceExporter.Builder builder) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ChromeTraceExporter e = builder.build(out)) {
            samples.forEach(e::accept);
        }
        return check(out.toByteArray());
    }

    @Test
    void theSyntheticProfileBecomesBalancedSlicesWithTheTimeOfItsSamples() throws Exception {
        Trace t = write(samples(), ChromeTraceExporter.builder().metadata(METADATA));
        Map<String, Double> main = t.durations().get(PID + "/" + MAIN_TID);
        // Every main-thread sample has <module> and main: they span from the first sample's start (its time less
        // its weight) to the last sample's time.
        List<StackSample> ofMain = samples().stream().filter(s -> s.nativeThreadId() == MAIN_TID).toList();
        double span = (ofMain.get(ofMain.size() - 1).timestampNanos() - ofMain.get(0).timestampNanos() + WEIGHT)
                / 1000.0;
        assertThat(main.get("<module>")).isEqualTo(main.get("main")).isEqualTo(span);
        assertThat(main).containsKeys("Outer.leaf", "helper");
        assertThat(t.durations().get(PID + "/" + WORKER_TID)).containsKeys("Worker.run", "naïve_ß");
        assertThat(t.threadNames().get(PID + "/" + MAIN_TID)).containsExactly("MainThread");
        assertThat(t.root().get("otherData").get("python").asText()).isEqualTo("3.11.7");
        assertThat(t.root().toString()).contains("\"process_name\"", "python3 x.py --n 3");
    }

    @Test
    void aGapInAThreadsSamplesEndsItsSlicesAndIdleSamplesAreKeptWhenAsked() throws Exception {
        List<StackSample> samples = List.of(sample(1, ThreadState.RUNNING), sample(2, ThreadState.RUNNING),
                sample(10, ThreadState.RUNNING), sample(11, ThreadState.IDLE));
        Trace dropped = write(samples, ChromeTraceExporter.builder());
        // samples 1 and 2: 2 ms; 10: 1 ms (the 7 ms between them unobserved); the idle one dropped
        assertThat(dropped.durations().get(PID + "/" + MAIN_TID).get("Outer.leaf")).isEqualTo(3000.0);
        Trace kept = write(samples, ChromeTraceExporter.builder().includeIdle(true));
        assertThat(kept.durations().get(PID + "/" + MAIN_TID).get("Outer.leaf")).isEqualTo(4000.0);
    }

    @Test
    void microsecondsAreExact() {
        assertThat(ChromeTraceExporter.micros(1500)).isEqualTo("1.5");
        assertThat(ChromeTraceExporter.micros(7)).isEqualTo("0.007");
        assertThat(ChromeTraceExporter.micros(2000)).isEqualTo("2");
    }

    private static StackSample sample(int ms, ThreadState state) {
        return new StackSample(new ThreadStack(PID, MAIN_TID, MAIN_TID, "MainThread", 0, state, Boolean.TRUE,
                List.of(LEAF, MODULE)), T0 + ms * WEIGHT, WEIGHT);
    }
}
