package dev.spyglass.internal.python;

import dev.spyglass.SamplingMode;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.PythonScripts;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The walked stack keeps where each C-level call of the evaluation loop starts (what merging native
 * frames needs): {@code key} is called by the C function {@code sorted}, so it starts a call of its
 * own, as does {@code <module>}, the outermost.
 */
@Execution(ExecutionMode.CONCURRENT)
class EntryFramesTest {

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def leaf():",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(1)  # LEAF",
            "def key(x):",
            "    leaf()",
            "    return x",
            "def middle():",
            "    return sorted([1], key=key)",
            "def outer():",
            "    middle()",
            "outer()",
            "");

    @ForEachPython
    void marksWhereEachEvalLoopCallStartsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("entries.py", SCRIPT);
        int leafLine = PythonScripts.lineOf(SCRIPT, "# LEAF");
        try (PythonScripts.Running target = PythonScripts.start(py, script); Target t = Target.attach(target.pid())) {
            List<String> functions = new ArrayList<>();
            List<String> entries = new ArrayList<>();
            for (int attempt = 0; attempt < 200; attempt++) {
                functions.clear();
                entries.clear();
                assertThat(t.readThreads(SamplingMode.WALL)).isEqualTo(1);
                ThreadRecord r = t.thread(0);
                assertThat(r.torn()).as("torn: %s", r.tornReason()).isFalse();
                for (int i = 0; i < r.depth(); i++) {
                    functions.add(r.frames[i].function());
                    if (r.entryFrame(i)) {
                        entries.add(r.frames[i].function());
                    }
                }
                if (r.depth() > 0 && r.frames[0].line() == leafLine) {
                    break;
                }
                Thread.sleep(10);
            }
            assertThat(functions).containsExactly("leaf", "key", "middle", "outer", "<module>");
            if (py.atLeast(3, 11)) {
                // 3.11: is_entry; 3.12, 3.13: a shim frame owned by the C stack below; 3.14+: an entry frame
                // owned by the interpreter below.
                assertThat(entries).containsExactly("key", "<module>");
            } else {
                // Every frame is its own PyEval_EvalFrameEx / _PyEval_EvalFrameDefault call.
                assertThat(entries).containsExactlyElementsOf(functions);
            }
        }
    }
}
