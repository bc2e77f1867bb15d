package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ThreadGrouping;

/** Roots of the aggregating formats: thread identity, latest names, and the {@link ThreadGrouping}s. */
class ThreadRootsTest {
    private static final Frame RUN = Frame.python("run", "Worker.run", "/app/w.py", 5, 4);
    private static final String P = "process 7";

    private final List<StackSample> samples = new ArrayList<>();

    private void sample(long tid, long start, String name, int n) {
        for (int i = 0; i < n; i++) {
            samples.add(new StackSample(new ThreadStack(7, tid, start, 0x7f00L + tid, name, 0, ThreadState.RUNNING,
                    null, List.of(RUN)), 1_000_000L * samples.size(), 1_000_000));
        }
    }

    private Map<List<String>, Long> collapsed(ThreadGrouping grouping) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = CollapsedExporter.builder().threads(grouping).build(out)) {
            samples.forEach(e::accept);
        }
        return FoldedStacks.parse(out.toString(StandardCharsets.UTF_8));
    }

    private static List<String> stack(String root) {
        return List.of(P, root, "Worker.run (/app/w.py:5)");
    }

    @Test
    void aThreadHasItsLatestNameForItsWholeLife() throws Exception {
        sample(100, 5000, "python3", 3);
        sample(100, 5000, "MainThread", 2);
        assertThat(collapsed(ThreadGrouping.EACH)).containsExactly(Map.entry(stack("thread 100 (MainThread)"), 5L));
    }

    @Test
    void aFallbackNameDoesNotReplaceAName() throws Exception {
        sample(100, 5000, "Thread-3 (process_request_thread)", 3);
        sample(100, 5000, "thread-139872", 1);
        assertThat(collapsed(ThreadGrouping.EACH))
                .containsExactly(Map.entry(stack("thread 100 (Thread-3 (process_request_thread))"), 4L));
    }

    @Test
    void aReusedTidWithAnotherStartTimeIsAnotherThread() throws Exception {
        sample(100, 5000, "first", 2);
        sample(100, 6000, "second", 3);
        assertThat(collapsed(ThreadGrouping.EACH)).containsExactly(Map.entry(stack("thread 100 (first)"), 2L),
                Map.entry(stack("thread 100 (second)"), 3L));
    }

    @Test
    void groupsByNameByPatternOrAll() throws Exception {
        sample(100, 1, "MainThread", 1);
        sample(101, 2, "ThreadPoolExecutor-0_3", 2);
        sample(102, 3, "ThreadPoolExecutor-0_7", 3);
        sample(103, 4, "worker", 4);
        sample(104, 5, "worker", 5);

        assertThat(collapsed(ThreadGrouping.EACH)).hasSize(5);
        assertThat(collapsed(ThreadGrouping.NAME)).containsExactly(Map.entry(stack("thread 100 (MainThread)"), 1L),
                Map.entry(stack("thread 101 (ThreadPoolExecutor-0_3)"), 2L),
                Map.entry(stack("thread 102 (ThreadPoolExecutor-0_7)"), 3L),
                Map.entry(stack("worker (2 threads)"), 9L));
        assertThat(collapsed(ThreadGrouping.PATTERN)).containsExactly(Map.entry(stack("thread 100 (MainThread)"), 1L),
                Map.entry(stack("ThreadPoolExecutor-*_* (2 threads)"), 5L), Map.entry(stack("worker (2 threads)"), 9L));
        assertThat(collapsed(ThreadGrouping.ALL)).containsExactly(Map.entry(stack("all threads"), 15L));
    }

    @Test
    void theDefaultGroupingIsByPattern() throws Exception {
        sample(101, 2, "Thread-1 (process_request_thread)", 2);
        sample(102, 3, "Thread-2 (process_request_thread)", 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = CollapsedExporter.builder().build(out)) {
            samples.forEach(e::accept);
        }
        assertThat(FoldedStacks.parse(out.toString(StandardCharsets.UTF_8)))
                .containsExactly(Map.entry(stack("Thread-* (process_request_thread) (2 threads)"), 5L));
    }

    @Test
    void patternReplacesEachRunOfDigits() {
        assertThat(ThreadRoots.pattern("ThreadPoolExecutor-12_345")).isEqualTo("ThreadPoolExecutor-*_*");
        assertThat(ThreadRoots.pattern("MainThread")).isEqualTo("MainThread");
        assertThat(ThreadRoots.pattern("7up")).isEqualTo("*up");
        assertThat(ThreadRoots.isFallback("thread-139872")).isTrue();
        assertThat(ThreadRoots.isFallback("thread-pool")).isFalse();
    }

    @Test
    void speedscopeMergesTheProfilesOfAGroup() throws Exception {
        sample(100, 1, "MainThread", 1);
        sample(101, 2, "pool-1", 2);
        sample(102, 3, "pool-2", 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Exporter e = SpeedscopeExporter.builder().build(out)) {
            samples.forEach(e::accept);
        }
        JsonNode profiles = new ObjectMapper().readTree(out.toByteArray()).get("profiles");
        assertThat(profiles).hasSize(2);
        assertThat(profiles.get(0).get("name").asText()).isEqualTo("thread 100 (MainThread)");
        assertThat(profiles.get(1).get("name").asText()).isEqualTo("pool-* (2 threads)");
        assertThat(profiles.get(1).get("endValue").asLong()).isEqualTo(5_000_000L);
    }

    @org.junit.jupiter.api.Test
    void aProcessLabelNamesItsProgramByFileName() {
        assertThat(ThreadRoots.shortCommand("/root/.pyenv/versions/3.12.1/bin/python3.12 /app/work.py --fast"))
                .isEqualTo("python3.12 /app/work.py --fast");
        assertThat(ThreadRoots.shortCommand("gunicorn")).isEqualTo("gunicorn");
        assertThat(ThreadRoots.shortCommand("")).isEmpty();
        assertThat(ThreadRoots.shortCommand("python3 " + "x".repeat(200))).hasSize(120).endsWith("...");
    }
}
