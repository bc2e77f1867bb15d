package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Code objects are created and freed continuously, so their addresses are reused: a cache keyed by
 * address alone reports the previous function (Austin 4.0 did). The target logs when each generated
 * function ran; every sample's leaf must be the function running at that time.
 */
@Execution(ExecutionMode.CONCURRENT)
class CodeCacheTest {

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "log = []",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "sys.stdin.readline()  # the sampler is attached: the 1.5 s start now, however slow the attach was",
            "end = time.time() + 1.5",
            "i = 0",
            "while time.time() < end:",
            "    src = '\\n' * (i % 7) + 'def f_%d():\\n    t = time.time() + 0.01\\n    while time.time() < t:\\n"
                    + "        pass\\nf_%d()\\n' % (i, i)",
            "    code = compile(src, 'gen_%d.py' % i, 'exec')",
            "    ns = {'time': time}",
            "    a = time.time()",
            "    exec(code, ns)",
            "    b = time.time()",
            "    log.append('%d %.6f %.6f' % (i, a, b))",
            "    del ns, code",
            "    i += 1",
            "sys.stdout.write('log ' + ';'.join(log) + '\\n'); sys.stdout.flush()",
            "");

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void reusedCodeObjectAddressesNeverGiveStaleNamesOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("codecache.py", SCRIPT);
        Process p = py.processBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<StackSample> samples = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            assertThat(out.readLine()).isEqualTo("ready");
            try (SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).build().attach(p.pid())) {
                p.getOutputStream().write("go\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                p.getOutputStream().flush();
                s.forEach(samples::add);
            }
            String log = out.readLine();
            assertThat(log).startsWith("log ");
            Map<Integer, double[]> windows = new HashMap<>();
            for (String entry : log.substring(4).split(";")) {
                String[] f = entry.split(" ");
                windows.put(Integer.parseInt(f[0]), new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2])});
            }
            // ~150 unloaded; a starved target gets through fewer, each still 10 ms long.
            assertThat(windows.size()).isGreaterThan(20);
            int checked = 0;
            for (StackSample x : samples) {
                if (x.frames().isEmpty() || !x.frames().get(0).function().startsWith("f_")) {
                    continue;
                }
                Frame leaf = x.frames().get(0);
                int n = Integer.parseInt(leaf.function().substring(2));
                assertThat(leaf.file()).as("file of %s", leaf).isEqualTo("gen_" + n + ".py");
                int first = n % 7 + 2;
                // first - 1 is the def line: a frame caught on its RESUME instruction (3.11+), as CPython's
                // own f_lineno reports it.
                assertThat(leaf.line()).as("line of %s", leaf).isBetween(first - 1, first + 2);
                double[] w = windows.get(n);
                assertThat(w).as("%s ran", leaf.function()).isNotNull();
                double t = x.timestampNanos() / 1e9;
                // A sample is stamped before its look: a look that saw f_n was stamped before f_n returned
                // (5 ms of slack for the two clocks). A stale cache entry names an earlier function,
                // one that had returned before the stamp. (A sampler preempted between stamp and look
                // sees a later function than the stamp suggests: no lower bound.)
                assertThat(t).as("sample of %s at %.4f after its run [%.4f, %.4f]", leaf.function(), t, w[0], w[1])
                        .isLessThanOrEqualTo(w[1] + 0.005);
                checked++;
            }
            // ~1,400 samples unloaded, nearly all in a generated function. A loaded machine starves the
            // sampler or the target of ticks: too few samples to judge is a skip with its figure, but
            // among the samples there are, most must have a generated leaf (else the names are wrong).
            int total = samples.size();
            int seen = checked;
            Assumptions.assumeTrue(total >= 300, () -> "starved: " + total + " samples in 1.5 s at 1 ms ("
                    + seen + " with a generated leaf)");
            assertThat(checked).as("samples with a generated leaf, of %d", total).isGreaterThan(total / 4);
        } finally {
            p.destroyForcibly();
        }
    }
}
