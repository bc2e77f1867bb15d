package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Issue 10, "no missed starts": a launched command is sampled from its interpreter's start, through shells and into
 * a Python a shell forks.
 */
class LaunchTest {
    /** CPU-bound phases named so that a sample tells which one it is from; the first starts on the script's first line. */
    static final String PHASES = String.join("\n",
            "import time",
            "def busy(sec):",
            "    end = time.time() + sec",
            "    while time.time() < end:",
            "        pass",
            "def early_phase():",
            "    busy(0.2)",
            "def late_phase():",
            "    busy(0.3)",
            "early_phase()",
            "late_phase()",
            "");

    private static ProcessBuilder quiet(ProcessBuilder pb) {
        return pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
    }

    private static List<StackSample> record(SamplingSession s) {
        List<StackSample> samples = new ArrayList<>();
        try (s) {
            s.forEach(samples::add);
        } finally {
            s.process().ifPresent(p -> {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            });
        }
        return samples;
    }

    private static boolean sampled(List<StackSample> samples, String function) {
        return samples.stream().anyMatch(x -> x.frames().stream().anyMatch(f -> f.function().equals(function)));
    }

    /**
     * The interpreter is attached while stopped and held until the sampler ticked: its first line is sampled, on
     * every version (pre-initialisation attach: 2.7's interp_head, ≤3.12 tables, 3.13+ debug offsets, static builds).
     */
    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void samplingCoversTheScriptFromItsFirstLineOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("phases.py", PHASES);
        Duration interval = Duration.ofMillis(1);
        SamplingSession s = Sampler.builder().interval(interval).duration(Duration.ofSeconds(20)).build()
                .launch(quiet(py.processBuilder(script.toString())));
        assertThat(s.version().toString()).startsWith(py.version());
        List<StackSample> samples = record(s);
        SamplingStats stats = s.stats();
        String figures = String.format("%s: %d samples, %d ticks in %d ms", py.label(), samples.size(), stats.ticks(),
                stats.elapsed().toMillis());
        assertThat(sampled(samples, "late_phase")).as(figures).isTrue();
        // 200 ms of early_phase: a sampler that ticked fewer than 50 times a second was starved, not late.
        Assumptions.assumeTrue(stats.achievedRate() >= 50, () -> "sampler starved by the machine's load: " + figures);
        assertThat(sampled(samples, "early_phase")).as(figures).isTrue();
    }

    /** A shell that forks Python (and does more after it): the Python child is sampled, the shell's status kept. */
    @Test
    @ResourceLock(SamplerTest.CPU_BOUND)
    void followsAPythonThatAShellForks() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("phases.py", PHASES);
        String python = String.join(" ", py.commandLine(script.toString()).stream().map(a -> "'" + a + "'").toList());
        ProcessBuilder pb = quiet(new ProcessBuilder("/bin/sh", "-c", python + "; exit 3"));
        pb.environment().putAll(py.environment());
        SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).build().launch(pb);
        assertThat(s.pid()).isNotEqualTo(s.process().orElseThrow().pid());
        List<StackSample> samples = record(s);

        assertThat(sampled(samples, "late_phase")).as("%d samples", samples.size()).isTrue();
        assertThat(samples).allSatisfy(x -> assertThat(x.pid()).isEqualTo(s.pid()));
        assertThat(s.exitStatus()).hasValue(3);
    }

    /** The builder is the caller's: the stopping wrapper must not stay in its command. */
    @Test
    void theCallersBuilderIsLeftAsItWas() throws Exception {
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Path script = PythonScripts.write("phases.py", PHASES);
        ProcessBuilder pb = quiet(py.processBuilder(script.toString()));
        List<String> before = List.copyOf(pb.command());
        try (PythonProcess p = PythonProcess.launch(pb, Duration.ofSeconds(20))) {
            assertThat(pb.command()).isEqualTo(before);
            // PythonProcess.launch returns once Python code ran; during start-up (importlib, site) frames
            // come and go, so a later snapshot may catch a moment with none: look again for a while.
            List<dev.spyglass.ThreadStack> threads = p.snapshot();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (threads.stream().allMatch(t -> t.frames().isEmpty()) && System.nanoTime() < deadline) {
                Thread.sleep(5);
                threads = p.snapshot();
            }
            assertThat(threads).anySatisfy(t -> assertThat(t.frames()).isNotEmpty());
            p.process().orElseThrow().destroyForcibly();
        }
    }
}
