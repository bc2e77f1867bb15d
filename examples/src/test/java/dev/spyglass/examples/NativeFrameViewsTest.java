package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/** {@code dump} and {@code top} show a native frame as {@code function (library)}; {@code top} groups it so. */
class NativeFrameViewsTest {

    static final Frame QSORT = Frame.nativeFrame("qsort", "/usr/lib/x86_64-linux-gnu/libc.so.6");
    /** The same library seen through another path (a container's, a symlink): one row in top. */
    static final Frame QSORT_ELSEWHERE = Frame.nativeFrame("qsort", "/lib/x86_64-linux-gnu/libc.so.6");
    static final Frame CMP = Frame.python("cmp", "cmp", "/app/x.py", 4, 3);
    static final Frame EVAL = Frame.nativeFrame("_PyEval_EvalFrameDefault", "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0");
    static final Frame MODULE = Frame.python("<module>", "<module>", "/app/x.py", 9, 1);
    /** A Python function named like the C one, in a file named like the library: its own row. */
    static final Frame PY_QSORT = Frame.python("qsort", "qsort", "/app/libc.so.6", 2, 1);

    static ThreadStack thread(Frame... innermostFirst) {
        return new ThreadStack(1234, 1240, 0x7f00, "MainThread", 0, ThreadState.RUNNING, Boolean.TRUE,
                List.of(innermostFirst));
    }

    @Test
    void dumpShowsFunctionAndLibrary() throws Exception {
        assertThat(DumpCommand.frameText(QSORT)).isEqualTo("qsort (libc.so.6)");
        assertThat(DumpCommand.frameText(CMP)).isEqualTo("cmp (/app/x.py:4)");
        assertThat(DumpCommand.frameText(Frame.INTERPRETER_SHUTDOWN)).isEqualTo("<interpreter shutdown>");
        assertThat(DumpCommand.frameText(Frame.nativeFrame("[anonymous]+0x40", "[anonymous]")))
                .isEqualTo("[anonymous]+0x40 ([anonymous])");

        JsonNode json = new ObjectMapper().readTree(DumpCommand.toJson("3.12.1", List.of("python3", "x.py"),
                List.of(thread(QSORT, CMP, EVAL, MODULE))));
        JsonNode frames = json.get("threads").get(0).get("frames");
        assertThat(frames.get(0).get("kind").asText()).isEqualTo("native");
        assertThat(frames.get(0).get("library").asText()).isEqualTo("libc.so.6");
        assertThat(frames.get(0).get("file").asText()).isEqualTo("/usr/lib/x86_64-linux-gnu/libc.so.6");
        assertThat(frames.get(1).get("kind").asText()).isEqualTo("python");
        assertThat(frames.get(1).has("library")).isFalse();
        assertThat(frames.get(1).get("line").asInt()).isEqualTo(4);
    }

    @Test
    void topGroupsNativeFramesByFunctionAndLibrary() {
        // Own and total counts (the first two of each row; the others are top's GIL columns).
        TopCommand.Table table = new TopCommand.Table();
        table.add(new StackSample(thread(QSORT, CMP, EVAL, MODULE), 1, 1));
        table.add(new StackSample(thread(QSORT_ELSEWHERE, EVAL, MODULE), 2, 1));
        table.add(new StackSample(thread(PY_QSORT, MODULE), 3, 1));
        table.add(new StackSample(thread(Frame.INTERPRETER_SHUTDOWN), 4, 1));

        assertThat(table.counts.keySet()).containsExactlyInAnyOrder("qsort (libc.so.6)", "cmp (/app/x.py)",
                "_PyEval_EvalFrameDefault (libpython3.12.so.1.0)", "<module> (/app/x.py)", "qsort (/app/libc.so.6)", "<interpreter shutdown>");
        assertThat(java.util.Arrays.copyOf(table.counts.get("qsort (libc.so.6)"), 2)).containsExactly(2, 2);
        assertThat(java.util.Arrays.copyOf(table.counts.get("_PyEval_EvalFrameDefault (libpython3.12.so.1.0)"), 2)).containsExactly(0, 2);
        assertThat(java.util.Arrays.copyOf(table.counts.get("qsort (/app/libc.so.6)"), 2)).containsExactly(1, 1);
        assertThat(java.util.Arrays.copyOf(table.counts.get("<interpreter shutdown>"), 2)).containsExactly(1, 1);
        assertThat(table.hottest(1).get(0).getKey()).isEqualTo("qsort (libc.so.6)");
    }
}
