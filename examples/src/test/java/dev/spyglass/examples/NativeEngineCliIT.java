package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code --native[=brief-stop|nonstop]} of record and dump on a real interpreter: the non-stop engine's
 * recording of a sleeping thread has its libc frames and the summary says how many samples were spliced;
 * {@code --native} alone is still the brief-stop engine; {@code --native-all} with nonstop and an unknown
 * engine are usage errors.
 */
class NativeEngineCliIT {
    static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def py_sleeper(seconds):",
            "    end = time.time() + seconds",
            "    while time.time() < end:",
            "        time.sleep(0.02)",
            "py_sleeper(float(sys.argv[1]))",
            "");
    private static final Pattern SUMMARY = Pattern.compile(
            "spyglass: native frames without stopping: ([\\d,]+) spliced, ([\\d,]+) unspliced \\(Python stack moved\\), "
                    + "([\\d,]+) lost");

    @TempDir
    Path dir;

    @Test
    void recordNonStopSplicesASleepingThreadAndSaysHowMany() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("sleeper.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("n.collapsed");
        // --idle: the collapsed format leaves idle threads out by default, and the sleeper is mostly idle.
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "--native=nonstop", "--idle", "-i", "10ms",
                "-o", out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        assumeTrue(!r.err().contains("the kernel refused"), "perf events refused here: " + r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        Matcher m = SUMMARY.matcher(r.err());
        assertThat(m.find()).as(r.err()).isTrue();
        assertThat(Long.parseLong(m.group(1).replace(",", ""))).as(r.err()).isPositive();
        assertThat(r.err()).doesNotContain("threads stopped").doesNotContain("kernel frames:");
        assertThat(Files.readString(out)).contains("py_sleeper").contains("(libc.so.6)");
        // The sleeper leaves its CPU every 20 ms: a context-switch snapshot each time.
        assertCostLine(r.err(), "native frames without stopping: ([\\d,]+) snapshots", 10);
    }

    /**
     * The summary's line of a perf engine's samples and their estimated cost to the target: samples taken (at least
     * {@code minSamples}), and a
     * positive time per sample within its quartiles, bounded; or no estimate for a starved machine only.
     */
    static void assertCostLine(String err, String head, long minSamples) {
        Matcher m = Pattern.compile("spyglass: " + head + "(.*)").matcher(err);
        assertThat(m.find()).as(err).isTrue();
        assertThat(Long.parseLong(m.group(1).replace(",", ""))).as(err).isGreaterThanOrEqualTo(minSamples);
        String rest = m.group(2);
        if (rest.contains("not estimated")) {
            assertThat(rest).as(err).contains("the machine starved the calibration");
            return;
        }
        Matcher c = Pattern.compile(" took ~(\\d+) µs of the target's time each \\(estimated by calibration, "
                + "quartiles (-?\\d+) µs – (\\d+) µs\\): ~[\\d.]+ (us|ms|s) in all").matcher(rest);
        assertThat(c.matches()).as(err).isTrue();
        long median = Long.parseLong(c.group(1));
        assertThat(median).as(err).isPositive().isLessThan(2_000)
                .isBetween(Long.parseLong(c.group(2)), Long.parseLong(c.group(3)));
    }

    @Test
    void nativeAloneIsStillTheBriefStopEngine() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("sleeper.py");
        Files.writeString(script, SCRIPT);
        Path out = dir.resolve("b.collapsed");
        // "--" ends the options: --native takes no value from it.
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "-i", "10ms", "-o", out.toString(),
                "--native", "--"));
        cmd.addAll(py.commandLine(script.toString(), "1.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        // Refused from the start: no thread stopped (a container's seccomp, Yama). A refusal after threads were
        // stopped is wrong (the target's exiting main thread was once taken for one).
        assumeTrue(r.err().contains("threads stopped") || !r.err().contains("ptrace"), "ptrace refused here: " + r.err());
        assertThat(r.err()).doesNotContain("need to stop threads with ptrace");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("threads stopped").doesNotContain("without stopping");
    }

    @Test
    void dumpNonStopShowsTheSleepersLibcFrames() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path script = dir.resolve("sleeper.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), "60").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String dump = "";
            // Until the interpreter runs py_sleeper (a loaded machine starts it late).
            for (int i = 0; i < 20 && !dump.contains("(libc.so.6)"); i++) {
                Thread.sleep(300);
                SpyglassCliIT.Result d = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "--native=nonstop", "-p",
                        Long.toString(target.pid())), 60);
                assumeTrue(!d.err().contains("the kernel refused"), "perf events refused here: " + d.err());
                assertThat(d.exit()).as(d.err()).isZero();
                dump = d.out();
            }
            assertThat(dump).contains("(libc.so.6)").containsPattern("\\(libc.so.6\\)\\n(.*\\n)*?\\s+py_sleeper \\(");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void nativeAllWithTheNonStopEngineAndAnUnknownEngineAreUsageErrors() throws Exception {
        SpyglassCliIT.Result all = SpyglassCliIT.run(SpyglassCliIT.cli("record", "--native=nonstop", "--native-all",
                "-p", "1", "-o", dir.resolve("x.collapsed").toString()), 60);
        assertThat(all.exit()).as(all.err()).isEqualTo(Failures.USAGE);
        assertThat(all.err()).contains("--native-all needs the brief-stop engine");
        SpyglassCliIT.Result dump = SpyglassCliIT.run(SpyglassCliIT.cli("dump", "--native=nonstop", "--native-all",
                "-p", "1"), 60);
        assertThat(dump.exit()).as(dump.err()).isEqualTo(Failures.USAGE);
        SpyglassCliIT.Result bad = SpyglassCliIT.run(SpyglassCliIT.cli("top", "--native=sideways", "-p", "1"), 60);
        assertThat(bad.exit()).as(bad.err()).isEqualTo(Failures.USAGE);
        assertThat(bad.err()).contains("--native must be brief-stop or nonstop, not 'sideways'");
        // Without "--", the command's first word would be the engine: a usage error that says where it goes.
        SpyglassCliIT.Result noDashes = SpyglassCliIT.run(SpyglassCliIT.cli("record", "-o",
                dir.resolve("y.collapsed").toString(), "--native", "python3", "app.py"), 60);
        assertThat(noDashes.exit()).as(noDashes.err()).isEqualTo(Failures.USAGE);
        assertThat(noDashes.err()).contains("not 'python3' (a command goes after --)");
    }
}
