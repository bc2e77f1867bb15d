package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.NativeDemoExtension;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A Python function called back from C millions of times a second ({@code py_compare}, called by libc's
 * {@code qsort} through a C extension), sampled without native frames while it runs: its stack is read
 * while the thread pushes and pops the evaluation loop's entry frames on its C stack (3.12+) or C frames
 * (3.11, 3.12 cframes), so some reads meet memory of a call that already returned. Such a read must be
 * counted torn, never given as a stack without its outer frames.
 */
@Execution(ExecutionMode.CONCURRENT)
class CalledBackFromCTest {

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void noSampleOfACallbackFromCLacksItsOuterFramesOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("called_back_sort.py", NativeDemoExtension.SORT_TARGET);
        List<StackSample> samples = new ArrayList<>();
        SamplingStats stats;
        try (PythonScripts.Running target = PythonScripts.start(py, script, ext.directory().toString());
                SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).duration(Duration.ofSeconds(10))
                        .build().attach(target.pid())) {
            // Up to 2,000 samples (about 2 s on a quiet machine): before the walk checked its chain, 3.12 - 3.15
            // gave 2 - 45 samples without <module> in 5 s of this.
            s.forEach(x -> {
                samples.add(x);
                if (samples.size() == 2_000) {
                    s.stop();
                }
            });
            assertThat(s.failure()).as("session failure").isEmpty();
            stats = s.stats();
        }
        long inCompare = samples.stream().filter(x -> has(x, "py_compare")).count();
        List<StackSample> cut = samples.stream()
                .filter(x -> x.frames().isEmpty() || !x.frames().getLast().function().equals("<module>")
                        || !has(x, "py_caller"))
                .toList();
        System.out.printf("%s: callback from C, %d samples (%d in py_compare), %d torn, %d without py_caller and"
                + " <module>%n", py.label(), samples.size(), inCompare, stats.tornSamples(), cut.size());
        Assumptions.assumeTrue(inCompare >= 100, py.label() + ": only " + inCompare
                + " samples in py_compare in 10 s (a starved sampler)");
        // Not zero: with two CPU hogs on 2 cores, 3 of 2,001 samples on 3.12 and 1 of 2,001 on Debian's 3.15 still
        // came out short (3 Dec 2026, 534 and 149 torn): a read preempted for milliseconds can meet a stale entry
        // frame or cframe that passes every check (docs/native-frames.md). Before the checks: 5.3% (747 of 14,177 on
        // Debian's 3.13), so a regression still fails here; on a quiet machine there were none. On 3.12 a stale shim
        // with another code object as executable passed until the shim had to be the learned trampoline (12 and 20
        // short in the full suites of 5 Dec 2026; after it 0 of 10,015 in 4 runs at load 5 - 6).
        assertThat(cut.size()).as("%s: samples lacking the outer frames (py_caller, then <module> outermost), at most"
                + " 1 in 200 of %d:\n  %s", py.label(), samples.size(), common(cut))
                .isLessThanOrEqualTo(samples.size() / 200);
    }

    private static boolean has(StackSample s, String function) {
        return s.frames().stream().anyMatch(f -> f.function().equals(function));
    }

    private static String common(List<StackSample> samples) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        samples.forEach(x -> seen.merge(x.frames().toString(), 1, Integer::sum));
        return seen.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(4)
                .map(e -> e.getValue() + "x " + e.getKey()).collect(Collectors.joining("\n  "));
    }
}
