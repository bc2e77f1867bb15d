package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/** {@code spyglass record --threads}: how the flame-graph formats group a thread pool's workers. */
class ThreadsOptionIT {

    /** Four pool workers and the main thread, all busy for argv[1] seconds. */
    static final String POOL = String.join("\n",
            "import sys, time",
            "from concurrent.futures import ThreadPoolExecutor",
            "def spin(deadline):",
            "    while time.time() < deadline:",
            "        pass",
            "deadline = time.time() + float(sys.argv[1])",
            "with ThreadPoolExecutor(max_workers=4) as pool:",
            "    for _ in range(4):",
            "        pool.submit(spin, deadline)",
            "    spin(deadline)",
            "");

    @TempDir
    Path dir;

    private Set<String> roots(PythonInterpreter py, String... threads) throws Exception {
        Path script = dir.resolve("pool.py");
        Files.writeString(script, POOL);
        Path out = dir.resolve("p" + threads.length + ".collapsed");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "-i", "2ms", "-o", out.toString()));
        cmd.addAll(List.of(threads));
        cmd.add("--");
        cmd.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        assertThat(r.exit()).as("exit: %s", r.err()).isZero();
        Set<String> roots = new TreeSet<>();
        for (String line : Files.readAllLines(out)) {
            roots.add(line.split(";")[1]);
        }
        return roots;
    }

    @Test
    void poolWorkersShareOneRootByDefaultAndEachHasItsOwnOnRequest() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Set<String> pattern = roots(py);
        assertThat(pattern).anyMatch(r -> r.endsWith("(MainThread)"));
        assertThat(pattern.stream().filter(r -> r.startsWith("ThreadPoolExecutor-")))
                .as("roots %s", pattern).singleElement().asString().matches("ThreadPoolExecutor-\\*_\\* \\(\\d threads\\)");

        Set<String> each = roots(py, "--threads", "each");
        assertThat(each.stream().filter(r -> r.contains("(ThreadPoolExecutor-0_")).count()).as("roots %s", each)
                .isGreaterThanOrEqualTo(2);

        assertThat(roots(py, "--threads=all")).containsExactly("all threads");
    }

    @Test
    void anUnknownGroupingIsAUsageError() throws Exception {
        SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("record", "--threads", "some", "-p", "1"), 60);
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--threads").contains("each, name, pattern or all");
    }
}
