package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * {@code spyglass record -o p.mojo -- python ...}: the format is inferred from the extension and the file is Austin
 * 4's MOJO (the core module's MojoExporterTest and MojoRealProcessTest decode it event by event); when
 * scripts/install-test-deps.sh installed austin-python, its reader finds hot_leaf holding much of the time.
 */
class MojoCliIT {

    @TempDir
    Path dir;

    @Test
    void recordWritesAMojoFileInferredFromTheExtension() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("hot.py");
        Files.writeString(script, SpyglassCliIT.SCRIPT);
        Path out = dir.resolve("p.mojo");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "-i", "1ms", "-o", out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("spyglass: wrote ").contains(out.toAbsolutePath().toString());
        byte[] bytes = Files.readAllBytes(out);
        assertThat(Arrays.copyOf(bytes, 4)).containsExactly('M', 'O', 'J', 4);
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        assertThat(text).contains("\u0001python\u0000" + py.version() + "\u0000").contains("\u0001mode\u0000wall\u0000")
                .contains("hot_leaf\u0000").contains(script + "\u0000");

        Path austinPython = toolsDir().resolve("austin-python");
        if (Files.isRegularFile(austinPython.resolve("austin/format/mojo.py"))) {
            Path reader = dir.resolve("leaves.py");
            Files.writeString(reader, String.join("\n",
                    "import collections, sys",
                    "from austin.format.mojo import MojoStreamReader",
                    "from austin.events import AustinSample",
                    "leaves, total = collections.Counter(), 0",
                    "with open(sys.argv[1], 'rb') as f:",
                    "    for e in MojoStreamReader(f):",
                    "        if isinstance(e, AustinSample):",
                    "            total += e.metrics.time",
                    "            if e.frames:",
                    "                leaves[e.frames[-1].function] += e.metrics.time",
                    "print(leaves['hot_leaf'] / total)",
                    ""));
            ProcessBuilder pb = PythonInterpreters.assumeAny(3, 10).processBuilder(reader.toString(), out.toString());
            pb.environment().put("PYTHONPATH", austinPython.toString());
            Path stdout = dir.resolve("leaves.out");
            Process p = pb.redirectOutput(stdout.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            // Wall time of two threads: the main one runs hot_leaf most of its time, the other sleeps in napper.
            assertThat(Double.parseDouble(Files.readString(stdout).strip())).isGreaterThan(0.2);
        }
    }

    /** Where scripts/install-test-deps.sh puts the decoders (the core tests' TestTools.toolsDir). */
    static Path toolsDir() {
        String env = System.getenv("SPYGLASS_TOOLS");
        return env != null && !env.isEmpty() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "spyglass-tools");
    }
}
