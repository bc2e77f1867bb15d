package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code record --children} of a launched {@code multiprocessing.Pool(2)} program: the workers' {@code busy_work}
 * under their own process roots in the collapsed profile, and the summary listing the processes; {@code dump -C}
 * of the same kind of program shows the workers' stacks.
 */
class ChildrenCliIT {
    static final String SCRIPT = String.join("\n",
            "import multiprocessing, os, sys, time",
            "def busy_work(n):",
            "    x = 0",
            "    end = time.time() + 0.05",
            "    while time.time() < end:",
            "        x = (x + n) % 1000",
            "    return x",
            "if __name__ == '__main__':",
            "    pool = multiprocessing.Pool(2)",
            "    end = time.time() + float(sys.argv[1])",
            "    while time.time() < end:",
            "        pool.map(busy_work, range(8))",
            "    pool.close()",
            "    pool.join()",
            "");

    @TempDir
    Path dir;

    @Test
    void recordChildrenPutsEachProcessAtTheRootAndListsThem() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("pool.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("pool.collapsed");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--children", "--mode", "cpu", "-i", "5ms",
                "--no-lines", "-o", out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "3"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 120);
        assertThat(r.exit()).as(r.err()).isZero();
        String text = Files.readString(out);
        Matcher root = Pattern.compile("recording process (\\d+) \\(Python [^)]*\\) and its child processes")
                .matcher(r.err());
        assertThat(root.find()).as(r.err()).isTrue();
        long parent = Long.parseLong(root.group(1));
        // process PID (COMMAND);thread ...;...;busy_work (pool.py) N
        Pattern worker = Pattern.compile("^process (\\d+) \\(([^;]*)\\);thread [^;]*;.*busy_work \\(" + Pattern.quote(
                script.toString()) + "\\) \\d+$", Pattern.MULTILINE);
        Set<Long> workers = worker.matcher(text).results().map(m -> Long.parseLong(m.group(1)))
                .collect(Collectors.toSet());
        Assumptions.assumeTrue(!workers.isEmpty(), "no worker sample (load?): " + r.err());
        assertThat(workers).as(text).doesNotContain(parent);
        assertThat(worker.matcher(text).results()).as(text).allMatch(m -> m.group(2).contains("pool.py"));
        // Several processes: every root names its process with its command.
        assertThat(text.lines()).as(text).allMatch(l -> l.matches("process \\d+ \\([^;]*\\);.*"));
        assertThat(r.err()).contains("processes sampled").contains("PARENT").contains("SAMPLES");
        for (long w : workers) {
            assertThat(r.err()).as(r.err()).containsPattern("(?m)^\\s+" + w + "\\s+" + parent + "\\s+[\\d,]+\\s+"
                    + py.major() + "\\." + py.minor() + "\\s+.*pool\\.py");
        }
    }

    @Test
    void withoutChildrenTheWorkersAreNotSampled() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("pool.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("pool.collapsed");
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--mode", "cpu", "-i", "5ms", "-o",
                out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "1"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 120);
        assertThat(r.exit()).as(r.err()).isZero();
        Set<String> roots = Files.readString(out).lines().map(l -> l.substring(0, l.indexOf(';')))
                .collect(Collectors.toSet());
        assertThat(roots).as(r.err()).hasSize(1).allMatch(p -> p.matches("process \\d+"));
        assertThat(r.err()).doesNotContain("processes sampled");
    }

    @Test
    void dumpChildrenShowsTheWorkers() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("pool.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), "60").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(1500); // the pool's workers start
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "-C", "-p",
                    Long.toString(target.pid())), 60);
            assertThat(r.exit()).as(r.err()).isZero();
            long shown = r.out().lines().filter(l -> l.startsWith("Process ")).count();
            assertThat(shown).as(r.out() + r.err()).isGreaterThanOrEqualTo(3); // the parent and two workers
            assertThat(r.out()).contains("Process " + target.pid() + ":");
            assertThat(r.err()).contains("process(es) shown");
        } finally {
            target.descendants().forEach(ProcessHandle::destroyForcibly);
            target.destroyForcibly().waitFor();
        }
    }
}
