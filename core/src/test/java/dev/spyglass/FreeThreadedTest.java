package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Free-threaded interpreters (3.13t, 3.14t, 3.15t): worker threads run at the same time as each other, no GIL,
 * and on 3.14t each thread executes its own copy of the bytecode, so a worker's line is only right when
 * its instruction pointer is taken against that copy.
 */
@Execution(ExecutionMode.CONCURRENT)
public class FreeThreadedTest {

    static final String WORKERS = String.join("\n",
            "import sys, threading, time",
            "def step(n):",
            "    return n + 1",
            "def worker_a():",
            "    x = 0",
            "    while True:",
            "        x = step(x)  # WORKER_A",
            "def worker_b():",
            "    x = 0",
            "    while True:",
            "        x = step(x)  # WORKER_B",
            "def worker_c():",
            "    x = 0",
            "    while True:",
            "        x = step(x)  # WORKER_C",
            "for f in (worker_a, worker_b, worker_c):",
            "    threading.Thread(target=f, name=f.__name__, daemon=True).start()",
            "time.sleep(0.3)",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.2)  # MAIN",
            "");

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void everyWorkerShowsItsOwnFunctionAndLineOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(py.freeThreaded(), () -> py.label() + " has a GIL");
        Path script = PythonScripts.write("workers.py", WORKERS);
        Map<String, Integer> callLine = Map.of("worker_a", PythonScripts.lineOf(WORKERS, "# WORKER_A"),
                "worker_b", PythonScripts.lineOf(WORKERS, "# WORKER_B"), "worker_c",
                PythonScripts.lineOf(WORKERS, "# WORKER_C"));
        int stepLine = PythonScripts.lineOf(WORKERS, "return n + 1");
        Map<String, Integer> seen = new HashMap<>();
        int looks = 40;
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            assertThat(proc.version().freeThreaded()).isTrue();
            for (int i = 0; i < looks; i++) {
                for (ThreadStack t : proc.snapshot()) {
                    assertThat(t.gilHeld()).as("no GIL to hold in %s", py.label()).isNull();
                    List<Frame> frames = t.frames();
                    // Thread names are the kernel's, set from threading only from 3.14: tell the workers by
                    // their frames. Innermost is the loop in the worker, or step() called from it.
                    if (frames.stream().noneMatch(f -> callLine.containsKey(f.function()))) {
                        continue;
                    }
                    int at = frames.get(0).function().equals("step") ? 1 : 0;
                    if (at == 1) {
                        assertThat(frames.get(0).line()).as("step's line").isIn(stepLine, stepLine - 1);
                    }
                    Frame w = frames.get(at);
                    assertThat(callLine).as("innermost frames of a worker: %s", frames).containsKey(w.function());
                    int line = callLine.get(w.function());
                    // The loop is caught on its body or on its header (the jump back).
                    assertThat(w.line()).as("line of %s in %s", w.function(), frames).isIn(Set.of(line, line - 1));
                    seen.merge(w.function(), 1, Integer::sum);
                }
            }
        }
        // snapshot() leaves out a thread torn three times in a row: tolerate a few, not a lost thread.
        for (String worker : callLine.keySet()) {
            assertThat(seen.getOrDefault(worker, 0)).as("looks showing %s: %s", worker, seen)
                    .isGreaterThanOrEqualTo(looks * 9 / 10);
        }
    }
}
