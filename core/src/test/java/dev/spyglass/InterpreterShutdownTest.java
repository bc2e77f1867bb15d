package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The time the main thread spends finalising the interpreter (after the atexit handlers: module
 * teardown, freeing, the last collections) has no Python frame, or only those of a {@code __del__} run
 * then; it used to vanish from flame graphs. It is reported under the root pseudo-frame
 * {@code <interpreter shutdown>}, read from {@code _PyRuntime._finalizing} (3.7+) or
 * {@code _Py_Finalizing} (3.6).
 */
@Execution(ExecutionMode.CONCURRENT)
class InterpreterShutdownTest {

    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "class Node(object):",
            "    def __init__(self):",
            "        self.me = self",
            "class SlowDel(object):",
            "    # Bound as defaults: module globals may already be None when this runs at teardown.",
            "    def __del__(self, time=time):",
            "        t = time.time() + 0.4",
            "        while time.time() < t:",
            "            pass",
            "cycles = [Node() for _ in range(100000)]",
            "table = dict((i, [str(i)]) for i in range(300000))",
            "slow = SlowDel()",
            "def busy():",
            "    t = time.time() + 0.3",
            "    while time.time() < t:",
            "        pass",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "sys.stdin.readline()",
            "busy()",
            "");

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void shutdownTimeIsLabelledOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 6), "2.7 keeps no mark of its finalisation (no _Py_Finalizing)");
        Path script = PythonScripts.write("shutdown.py", SCRIPT);
        Process p = py.processBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<StackSample> samples = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("ready");
            try (SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).build().attach(p.pid())) {
                p.getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
                p.getOutputStream().flush();
                s.forEach(samples::add);
            }
        } finally {
            p.destroyForcibly();
        }
        int shutdown = 0;
        int inDel = 0;
        for (StackSample x : samples) {
            List<Frame> f = x.frames();
            for (int i = 0; i < f.size(); i++) {
                if (f.get(i).equals(Frame.INTERPRETER_SHUTDOWN)) {
                    assertThat(i).as("<interpreter shutdown> is the root of %s", f).isEqualTo(f.size() - 1);
                    assertThat(x.nativeThreadId()).as("thread of %s", f).isEqualTo(p.pid());
                    shutdown++;
                    if (i > 0 && f.get(i - 1).function().equals("__del__")) {
                        inDel++;
                    }
                }
            }
        }
        int total = samples.size();
        // ~0.3 s busy then ~0.5 s of teardown (0.4 s of it in __del__) give hundreds of samples unloaded.
        Assumptions.assumeTrue(total >= 20, () -> "starved: " + total + " samples in all");
        assertThat(shutdown).as("samples under <interpreter shutdown>, of %d", total).isPositive();
        assertThat(inDel).as("samples of __del__ run during shutdown, of %d", total).isPositive();
        assertThat(Frame.INTERPRETER_SHUTDOWN.kind()).isEqualTo(Frame.FrameKind.PSEUDO);
    }
}
