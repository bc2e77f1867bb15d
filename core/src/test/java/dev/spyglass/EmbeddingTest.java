package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A C program (not named python) that embeds a pyenv libpython: the interpreter must be found in the
 * shared library the program maps, whatever the executable is called.
 */
@Execution(ExecutionMode.CONCURRENT)
class EmbeddingTest {

    private static final String HOST = String.join("\n",
            "#include <Python.h>",
            "#include <stdio.h>",
            "int main(int argc, char **argv) {",
            "    Py_Initialize();",
            "    FILE *f = fopen(argv[1], \"r\");",
            "    if (!f) return 2;",
            "    int rc = PyRun_SimpleFileEx(f, argv[1], 1);",
            "    Py_Finalize();",
            "    return rc == 0 ? 0 : 1;",
            "}",
            "");

    @ForEachPython
    void launchedEmbeddingProgramShowsRecursionOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.origin() == PythonInterpreter.Origin.PYENV && py.libpython().isPresent(),
                "needs a pyenv build with a shared libpython");
        Path bin = py.executable().getParent();
        Path config = bin.resolve("python" + py.major() + "." + py.minor() + "-config");
        Assumptions.assumeTrue(Files.isExecutable(config), "no " + config);
        Path dir = Files.createTempDirectory("spyglass-embed-");
        Path host = dir.resolve("embedding-host");
        Files.writeString(dir.resolve("host.c"), HOST);
        String embed = py.atLeast(3, 8) ? " --embed" : "";
        String libdir = py.libpython().get().getParent().toString();
        String cmd = "gcc host.c $(" + config + " --cflags) -o " + host + " $(" + config + " --ldflags" + embed
                + ") -Wl,-rpath," + libdir;
        Process gcc = new ProcessBuilder("sh", "-c", cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(gcc.exitValue()).as("gcc: %s", out).isZero();

        int depth = 6;
        // The main thread is named after the program only while threading is not imported; a .pth file in
        // site-packages may import it during Py_Initialize (this sandbox's CA hook does on pyenv 3.11), so
        // the script says whether it was, on its first line (line numbers unchanged).
        String source = PythonScripts.RECURSION.replace("DEPTH", Integer.toString(depth)).replace(
                "import sys, time\n", "import sys, time; open(__file__ + '.threading', 'w').write("
                        + "str('threading' in sys.modules))\n");
        Path script = PythonScripts.write("embedded.py", source);
        ProcessBuilder pb = new ProcessBuilder(host.toString(), script.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PYTHONHOME", bin.getParent().toString());
        pb.environment().putAll(py.environment());
        try (PythonProcess proc = PythonProcess.launch(pb, Duration.ofSeconds(20))) {
            try {
                assertThat(proc.version().toString()).startsWith(py.version());
                ThreadStack main = SnapshotTest.snapshotAtLine(proc, PythonScripts.lineOf(source, "# LEAF"));
                assertThat(SnapshotTest.describe(main.frames()))
                        .containsExactlyElementsOf(SnapshotTest.expectedRecursion(script, source, depth));
                Path marker = Path.of(script + ".threading");
                boolean threadingImported = Boolean.parseBoolean(Files.readString(marker).strip().toLowerCase());
                Files.deleteIfExists(marker);
                if (threadingImported) {
                    // The first snapshots may come before site imported threading; the registry is looked
                    // for again within a second (ThreadNames.REFRESH_MILLIS).
                    long deadline = System.nanoTime() + 3_000_000_000L;
                    while (!main.threadName().equals("MainThread") && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                        main = SnapshotTest.snapshotAtLine(proc, PythonScripts.lineOf(source, "# LEAF"));
                    }
                }
                assertThat(main.threadName()).as("%s, threading imported at start: %s", py.label(), threadingImported)
                        .isEqualTo(threadingImported ? "MainThread" : "embedding-host".substring(0, 14));
            } finally {
                proc.process().orElseThrow().destroyForcibly();
            }
        } finally {
            List<Path> files = new ArrayList<>(List.of(host, dir.resolve("host.c")));
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }
}
