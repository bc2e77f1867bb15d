package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.Frame.FrameKind;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.NativeDemoExtension;
import dev.spyglass.testsupport.NumpyTargets;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Issue 11's acceptance: with {@link Sampler.Builder#nativeFrames(boolean)} a sample's stack holds the C
 * frames of extensions and libraries between the Python frames that called them, in call order.
 */
@Execution(ExecutionMode.CONCURRENT)
class NativeFramesTest {
    private static final String LIBC = "libc.so.6";

    /**
     * qsort itself, or the libc function that calls the comparison. gdb on this machine shows glibc's qsort
     * tail-calling {@code __qsort_r} (exported as {@code qsort_r}), which recurses in its internal
     * {@code msort_with_tmp} (bookworm's 2.36; trixie's 2.41 alike, unnamed there): the internal
     * functions have no dynamic symbol in a stripped libc, so one named frame of the chain is required,
     * not every one. With libc's debug symbols the names may carry glibc's internal prefixes
     * ({@code __GI___qsort_r}).
     */
    private static final Pattern QSORT = Pattern.compile("(__GI_)?_*(qsort|msort)\\w*");

    private static final String SLEEP_TARGET = String.join("\n",
            "import sys, time",
            "",
            "def py_sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "py_sleeper()",
            "");

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void extensionCallbackShowsPythonCExtensionLibcCExtensionPythonOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("native_sort.py", NativeDemoExtension.SORT_TARGET);
        List<Step> expected = List.of(
                python("py_compare"),
                nativeIn("compare_trampoline", ext.fileName()),
                new Step("a qsort function (" + QSORT + ") in " + LIBC,
                        f -> f.kind() == FrameKind.NATIVE && LIBC.equals(f.library())
                                && QSORT.matcher(f.function()).matches()),
                nativeIn("ext_sort", ext.fileName()),
                python("py_caller"),
                python("<module>"));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script, ext.directory().toString())) {
            assertSomeSampleHas(py, target.pid(), expected);
        }
    }

    @ForEachPython
    void sleepShowsTheLibcSleepUnderThePythonCallerOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // time.sleep waits in clock_nanosleep from CPython 3.11 on; before (2.7 to 3.10) in select.
        String wait = py.atLeast(3, 11) ? "clock_nanosleep" : "select";
        Pattern waitName = Pattern.compile("(__GI_)?_*" + wait + "\\w*");
        List<Step> expected = List.of(
                new Step(wait + " in " + LIBC, f -> f.kind() == FrameKind.NATIVE && LIBC.equals(f.library())
                        && waitName.matcher(f.function()).matches()),
                python("py_sleeper"),
                python("<module>"));
        Path script = PythonScripts.write("native_sleep.py", SLEEP_TARGET);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            assertSomeSampleHas(py, target.pid(), expected);
        }
    }

    @ForEachPython
    @ResourceLock(SamplerTest.CPU_BOUND)
    void numpyArgsortShowsMultiarrayUmathUnderThePythonCallerOn(PythonInterpreter py) throws Exception {
        NumpyTargets.assumeNumpy(py);
        List<Step> expected = List.of(
                new Step("a function of numpy's _multiarray_umath",
                        f -> f.kind() == FrameKind.NATIVE && f.library().startsWith("_multiarray_umath")),
                python("py_argsort_caller"),
                python("<module>"));
        Path script = PythonScripts.write("numpy_argsort.py", NumpyTargets.ARGSORT_TARGET);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            assertSomeSampleHas(py, target.pid(), expected);
        }
    }

    @Test
    void containsInOrderWantsTheStepsInCallOrderWithOthersBetween() {
        Frame leaf = Frame.python("leaf", "leaf", "t.py", 3);
        Frame c = Frame.nativeFrame("c_func", "/x/ext.so");
        Frame libc = Frame.nativeFrame("qsort_r", "/lib/x86_64-linux-gnu/" + LIBC);
        Frame root = Frame.python("<module>", "<module>", "t.py", 9);
        List<Step> steps = List.of(python("leaf"), nativeIn("c_func", "ext.so"), python("<module>"));
        assertThat(containsInOrder(List.of(leaf, c, libc, root), steps)).isTrue();
        assertThat(containsInOrder(List.of(c, leaf, libc, root), steps)).as("out of order").isFalse();
        assertThat(containsInOrder(List.of(leaf, libc, root), steps)).as("a step missing").isFalse();
        assertThat(containsInOrder(List.of(leaf, Frame.python("c_func", "c_func", "t.py", 1), root), steps))
                .as("a Python frame named like the native one").isFalse();
        assertThat(QSORT.matcher("__GI___qsort_r").matches()).isTrue();
        assertThat(QSORT.matcher("msort_with_tmp").matches()).isTrue();
        assertThat(QSORT.matcher("libc.so.6+0x44ac0").matches()).isFalse();
    }

    /** One expected frame: what it is (for messages) and how to recognise it. */
    record Step(String description, Predicate<Frame> matches) {
    }

    static Step python(String function) {
        return new Step(function + " (Python)", f -> f.kind() == FrameKind.PYTHON && f.function().equals(function));
    }

    static Step nativeIn(String function, String library) {
        return new Step(function + " (native, " + library + ")",
                f -> f.kind() == FrameKind.NATIVE && f.function().equals(function) && library.equals(f.library()));
    }

    /**
     * Whether {@code frames} (innermost first) holds frames matching {@code steps} in that order, other
     * frames allowed in between.
     */
    static boolean containsInOrder(List<Frame> frames, List<Step> steps) {
        int next = 0;
        for (Frame f : frames) {
            if (next < steps.size() && steps.get(next).matches().test(f)) {
                next++;
            }
        }
        return next == steps.size();
    }

    /**
     * Samples {@code pid} with native frames for up to 8 s (a loaded machine) and passes as soon as one
     * sample's stack matches {@code expected}; fails with the most frequent stacks seen.
     */
    private static void assertSomeSampleHas(PythonInterpreter py, long pid, List<Step> expected) throws Exception {
        Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(5))
                .duration(Duration.ofSeconds(8)).build();
        Map<String, Integer> seen = new LinkedHashMap<>();
        List<StackSample> matching = new ArrayList<>();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(x -> {
                seen.merge(x.frames().toString(), 1, Integer::sum);
                if (containsInOrder(x.frames(), expected)) {
                    matching.add(x);
                    s.stop();
                }
            });
            assertThat(s.failure()).as("session failure").isEmpty();
        }
        String common = seen.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .limit(5).map(e -> e.getValue() + "x " + e.getKey()).collect(Collectors.joining("\n  "));
        assertThat(matching).as("%s: a sample with, innermost first, %s; of %d samples the most frequent stacks:\n  %s",
                py.label(), expected.stream().map(Step::description).toList(),
                seen.values().stream().mapToInt(Integer::intValue).sum(), common).isNotEmpty();
    }
}
