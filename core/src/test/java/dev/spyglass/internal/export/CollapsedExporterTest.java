package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import org.junit.jupiter.api.Test;

class CollapsedExporterTest {

    private static final String P = "process 1234";
    private static final String MAIN_T = "thread 1240 (MainThread)";
    private static final String WORKER_T = "thread 1241 (worker-1)";

    static String export(CollapsedExporter.Builder b) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(b.build(out));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void writesOneLinePerDistinctStackRootFirstWithSampleCounts() throws Exception {
        Map<List<String>, Long> stacks = FoldedStacks.parse(export(CollapsedExporter.builder()));

        assertThat(stacks).containsExactly(
                Map.entry(List.of(P, MAIN_T, "<module> (/app/x.py:30)", "main (/app/x.py:20)",
                        "Outer.leaf (/app/x.py:9)"), (long) LEAF_9),
                Map.entry(List.of(P, MAIN_T, "<module> (/app/x.py:30)", "main (/app/x.py:20)",
                        "helper (/app/x.py:14)"), (long) HELPER_N),
                Map.entry(List.of(P, MAIN_T, "<module> (/app/x.py:30)", "main (/app/x.py:20)",
                        "Outer.leaf (/app/x.py:10)"), (long) LEAF_10),
                Map.entry(List.of(P, WORKER_T, "Worker.run (/app/w.py:5)", "naïve_ß (/app/tëst_ü.py:2)"),
                        (long) SPIN_N),
                Map.entry(List.of(P, MAIN_T, "<module> (/app/x.py:30)", "main (/app/x.py:20)",
                        "odd_name:with \"quotes\"_</script><b> (/app/we_ird path.py:7)"), (long) ODD_N));
        assertThat(stacks.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(KEPT);
    }

    @Test
    void dropsLineNumbersOnRequestMergingTheLinesOfAFunction() throws Exception {
        Map<List<String>, Long> stacks = FoldedStacks.parse(export(CollapsedExporter.builder().lineNumbers(false)));

        assertThat(stacks).containsEntry(List.of(P, MAIN_T, "<module> (/app/x.py)", "main (/app/x.py)",
                "Outer.leaf (/app/x.py)"), (long) LEAF_9 + LEAF_10);
        assertThat(stacks).hasSize(4);
    }

    @Test
    void keepsIdleThreadsOnRequest() throws Exception {
        Map<List<String>, Long> stacks = FoldedStacks.parse(export(CollapsedExporter.builder().includeIdle(true)));

        assertThat(stacks).containsEntry(List.of(P, WORKER_T, "Worker.run (/app/w.py:5)",
                "Condition.wait (/usr/lib/python3.11/threading.py:320)"), (long) IDLE_N);
        assertThat(stacks.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(KEPT + IDLE_N);
    }

    @Test
    void writesWeightsInMicrosecondsOnRequest() throws Exception {
        Map<List<String>, Long> stacks = FoldedStacks.parse(
                export(CollapsedExporter.builder().value(CollapsedExporter.Value.WEIGHT_MICROS)));

        assertThat(stacks.values()).containsExactly(LEAF_9 * WEIGHT / 1000, HELPER_N * WEIGHT / 1000,
                LEAF_10 * WEIGHT / 1000, SPIN_N * WEIGHT / 1000, ODD_N * WEIGHT / 1000);
    }

    @Test
    void anEmptyRecordingIsAnEmptyFile() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CollapsedExporter.builder().build(out).close();
        assertThat(out.toByteArray()).isEmpty();
    }

    @Test
    void refusesSamplesAfterClose() throws Exception {
        CollapsedExporter e = CollapsedExporter.builder().build(new ByteArrayOutputStream());
        e.close();
        e.close();
        assertThatThrownBy(() -> e.accept(samples().get(0))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void theStrictReaderRejectsMalformedLines() {
        assertThatThrownBy(() -> FoldedStacks.parse("a;;b 3\n")).hasMessageContaining("empty frame");
        assertThatThrownBy(() -> FoldedStacks.parse("a;b\n")).hasMessageContaining("not 'stack count'");
        assertThatThrownBy(() -> FoldedStacks.parse("a;b 3\na;b 4\n")).hasMessageContaining("repeats");
        assertThatThrownBy(() -> FoldedStacks.parse("a;b 3")).hasMessageContaining("line break");
    }

    /** A target's names are its data: an ESC must not reach the terminal that shows the file (issue 10). */
    @Test
    void controlCharactersInNamesAreEscapedVisibly() throws Exception {
        Frame bad = Frame.python("bad", "bad\u001b[31mname\u0000\u007f\t\u009b", "/app/e\\x1b\u001b.py", 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CollapsedExporter e = CollapsedExporter.builder().build(out)) {
            e.accept(new StackSample(new ThreadStack(PID, MAIN_TID, 1, "Main\u001bThread", 0, ThreadState.RUNNING,
                    true, List.of(bad)), T0, WEIGHT));
        }
        String text = out.toString(StandardCharsets.UTF_8);

        assertThat(text).isEqualTo(P + ";thread 1240 (Main\\x1bThread);"
                + "bad\\x1b[31mname\\x00\\x7f\\x09\\x9b (/app/e\\\\x1b\\x1b.py:3) 1\n");
        assertThat(text.chars().filter(c -> c < 0x20 && c != '\n' || c >= 0x7f && c <= 0x9f)).isEmpty();
    }
}
