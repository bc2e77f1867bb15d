package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Go's own pprof ({@code go tool pprof}, Debian's golang-go) reads a profile recorded from a real
 * interpreter and shows every function under the name Spyglass gave it: pprof strips "{@code <...>}"
 * from a name it takes for demangled C++, which turned {@code <module>}, {@code <lambda>} and
 * {@code <genexpr>} into {@code <unknown>}.
 */
class GoPprofTest {

    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "# At module level, so its qualified name (3.11+) is <lambda> too, not hot_leaf.<locals>.<lambda>.",
            "spin = lambda: sum(i * i for i in range(3000))",
            "def hot_leaf():",
            "    return spin()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "end = time.time() + 60",
            "while time.time() < end:",
            "    hot_leaf()",
            "    s = 0",
            "    for i in range(3000):",
            "        s += i",
            "");

    @TempDir
    Path dir;

    @Test
    void goToolPprofKeepsPythonsAngleBracketNames() throws Exception {
        String go = TestTools.goWithPprof();
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 6);
        Path script = PythonScripts.write("angles.py", SCRIPT);
        List<StackSample> samples = new ArrayList<>();
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).duration(Duration.ofSeconds(1))
                        .build().attach(target.pid())) {
            s.forEach(samples::add);
        }
        Set<String> names = new TreeSet<>();
        for (StackSample x : samples) {
            for (Frame f : x.frames()) {
                names.add(f.qualifiedName());
            }
        }
        Assumptions.assumeTrue(names.contains("<module>") && names.contains("<lambda>"),
                () -> "starved: " + samples.size() + " samples in 1 s, functions " + names);

        Path pb = dir.resolve("angles.pb.gz");
        try (PprofExporter e = PprofExporter.builder()
                .metadata(ProfileMetadata.builder().mode("wall").interval(Duration.ofMillis(1)).build()).build(pb)) {
            samples.forEach(e::accept);
        }
        for (String symbolize : List.of("-symbolize=none", "-symbolize=local", "-symbolize=force")) {
            TestTools.Result r = TestTools.run(List.of(go, "tool", "pprof", symbolize, "-top", "-nodecount=1000",
                    "-nodefraction=0", pb.toString()));
            assertThat(r.exitCode()).as("go tool pprof %s: %s", symbolize, r.stderr()).isZero();
            assertThat(topNames(r.stdout())).as("functions in go tool pprof %s -top:%n%s", symbolize, r.stdout())
                    .isEqualTo(names);
        }
    }

    /** The function names of {@code go tool pprof -top}'s table (the last column after the header). */
    static Set<String> topNames(String top) {
        Set<String> names = new TreeSet<>();
        boolean table = false;
        for (String line : top.split("\n")) {
            if (table) {
                String[] cols = line.trim().split("\\s+", 6);
                if (cols.length == 6) {
                    names.add(cols[5]);
                }
            } else if (line.trim().startsWith("flat")) {
                table = true;
            }
        }
        return names;
    }
}
