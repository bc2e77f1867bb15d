package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static dev.spyglass.examples.SpyglassCliIT.someInterpreter;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code dump} of a target that is shutting down (a module-level {@code __del__} running during
 * {@code Py_FinalizeEx}) shows the {@code <interpreter shutdown>} pseudo-frame as its label alone, below
 * the {@code __del__}, not as {@code <interpreter shutdown> (:0)}.
 */
class ShutdownFrameIT {

    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "class SlowDel(object):",
            "    # Bound as defaults: module globals and builtins may be gone when this runs at teardown.",
            "    def __del__(self, time=time, flag=sys.argv[1], open=open):",
            "        open(flag, 'w').close()",
            "        t = time.time() + 30",
            "        while time.time() < t:",
            "            time.sleep(0.01)",
            "slow = SlowDel()",
            "");

    @TempDir
    Path dir;

    @Test
    void dumpShowsTheShutdownLabelAlone() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path script = dir.resolve("shutdown.py");
        Files.writeString(script, SCRIPT);
        Path flag = dir.resolve("in-del");
        Process target = py.processBuilder(script.toString(), flag.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            for (int i = 0; i < 2000 && !Files.exists(flag); i++) {
                Thread.sleep(10);
            }
            Assumptions.assumeTrue(Files.exists(flag), "the target did not reach its __del__ in 20 s");
            Result dump = run(cli("dump", "-p", Long.toString(target.pid())), 60);
            assertThat(dump.exit()).as(dump.err()).isZero();
            assertThat(dump.out()).contains("SlowDel.__del__ (" + script + ":").contains("\n    <interpreter shutdown>\n")
                    .doesNotContain("<interpreter shutdown> (");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }
}
