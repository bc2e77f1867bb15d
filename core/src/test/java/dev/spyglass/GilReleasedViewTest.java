package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.internal.export.HtmlFlameGraphExporter;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The HTML flame graph's "GIL released" view on real targets, in wall mode with idle threads kept: {@link GilTargets}'
 * reader (in {@code readinto} of /dev/zero, which lets go of the GIL while the kernel fills the buffer) has its
 * Python frame's samples marked GIL-released, the spinner (pure Python, holding the GIL) none, and the main threads
 * ({@code <module>}, blocked in a read) all: the holder is told from the other threads of its process. Each worker
 * runs in its own process with nothing else asking for the GIL, so the shares do not depend on how the machine's
 * load preempts them (with both in one process, as this test had them, it skipped most runs on 2 cores).
 */
class GilReleasedViewTest {

    @TempDir
    Path dir;

    @ForEachPython
    void theFlameGraphTellsPythonWorkFromCodeRunningWithoutTheGilOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        List<StackSample> samples = new ArrayList<>();
        long waitedMs = sample(py, "reader", samples) + sample(py, "spinner", samples);
        Path html = dir.resolve("gil.html");
        try (var out = HtmlFlameGraphExporter.builder().includeIdle(true).build(html)) {
            samples.forEach(out::accept);
        }
        long[] reader = tally(data(html), "reader");
        long[] spinner = tally(data(html), "spinner");
        long[] main = tally(data(html), "<module>");
        String figures = py.label() + ": reader " + reader[1] + " of " + reader[0] + " samples GIL-released, spinner "
                + spinner[1] + " of " + spinner[0] + ", main threads " + main[1] + " of " + main[0]
                + "; the targets' threads waited " + waitedMs
                + " ms for a CPU in their 2 x 1 s; load " + PythonScripts.loadAverage();
        System.out.println(figures);
        // Load only thins the samples (each still tells whether its thread held the GIL): too few is a skip.
        Assumptions.assumeTrue(reader[0] >= 10 && spinner[0] >= 10 && main[0] >= 10,
                "too few samples (a starved machine): " + figures);
        if (samples.stream().allMatch(s -> s.thread().gilHeld() == null)) {
            // 2.7 (no GIL holder to read) and free-threaded builds: nothing is marked.
            assertThat(reader[1] + spinner[1] + main[1]).as(figures).isZero();
            return;
        }
        // Expected: all of the reader's and the main threads', none of the spinner's. The tenth of slack is for a
        // reader preempted in its microseconds with the GIL, which it then keeps while it waits for a CPU.
        assertThat(reader[1] * 10).as(figures).isGreaterThanOrEqualTo(reader[0] * 9);
        assertThat(spinner[1] * 10).as(figures).isLessThanOrEqualTo(spinner[0]);
        assertThat(main[1] * 10).as(figures).isGreaterThanOrEqualTo(main[0] * 9);
    }

    /**
     * Samples the {@code work} target for 1 s in wall mode into {@code into}; returns how long its threads waited
     * for a CPU meanwhile, in ms.
     */
    private static long sample(PythonInterpreter py, String work, List<StackSample> into) throws Exception {
        try (PythonScripts.Running target = GilTargets.start(py, work)) {
            long waitedBefore = PythonScripts.runQueueWaitNanos(target.pid());
            Sampler sampler = Sampler.builder().mode(SamplingMode.WALL).interval(Duration.ofMillis(5))
                    .duration(Duration.ofMillis(1000)).build();
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(into::add);
                assertThat(s.failure()).isEmpty();
            }
            return (PythonScripts.runQueueWaitNanos(target.pid()) - waitedBefore) / 1_000_000;
        }
    }

    private static JsonNode data(Path html) throws Exception {
        String page = Files.readString(html, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("<script id=\"data\" type=\"application/json\">(.*?)</script>", Pattern.DOTALL)
                .matcher(page);
        assertThat(m.find()).isTrue();
        return new ObjectMapper().readTree(m.group(1));
    }

    /** {samples, GIL-released samples} of the boxes named {@code function}, summed over the tree. */
    private static long[] tally(JsonNode data, String function) {
        long[] sum = new long[2];
        List<JsonNode> todo = new ArrayList<>(List.of(data.get("tree")));
        while (!todo.isEmpty()) {
            JsonNode n = todo.remove(todo.size() - 1);
            if (data.get("names").get(n.get(0).asInt()).asText().equals(function)) {
                sum[0] += n.get(2).asLong();
                sum[1] += n.size() > 5 ? n.get(5).asLong() : 0;
            }
            n.get(3).forEach(todo::add);
        }
        return sum;
    }
}
