package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A native stack deeper than the first copy (16 KiB): up to 3.10 each Python call nests a C frame chain
 * of ~600 bytes, so 150 Python frames need ~90 KiB. The first walks run past the copy and merge
 * partially (outer Python frames appended); the copy then doubles until it holds the stack, and later
 * samples reach the interpreter's entry ({@code Py_RunMain}, {@code Py_Main}...) below {@code <module>},
 * which only a walk to the outermost frame can show.
 */
class DeepNativeStackTest {
    /** The interpreter's C entry points outer to the module's frame, 2.7 to 3.13 (pyenv's shared builds). */
    private static final Set<String> ENTRIES = Set.of("Py_Main", "Py_RunMain", "Py_BytesMain", "pymain_main",
            "pymain_run_python", "pymain_run_file", "pymain_run_file_obj", "PyRun_AnyFileExFlags",
            "PyRun_SimpleFileExFlags", "_PyRun_SimpleFileObject", "_PyRun_AnyFileObject", "run_mod", "run_eval_code_obj",
            "PyEval_EvalCode", "PyEval_EvalCodeEx");

    @ForEachPython
    void aStackDeeperThanTheCopyIsWalkedWholeOnceTheCopyGrewOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.origin() == PythonInterpreter.Origin.PYENV, "needs a pyenv build (libpython's symbols)");
        Assumptions.assumeFalse(py.atLeast(3, 11), "3.11+ runs Python calls in one C frame: no deep native stack");
        NativeTargets.assumePtrace();
        Path script = PythonScripts.write("deepnative.py", String.join("\n",
                "import os, sys, time",
                "sys.setrecursionlimit(1000)",
                "def down(n):",
                "    if n == 0:",
                "        sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "        while True:",
                "            time.sleep(0.01)",
                "    down(n - 1)",
                "down(150)",
                ""));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            List<StackSample> samples = new ArrayList<>();
            Sampler sampler = Sampler.builder().nativeFrames(true).interpreterFrames(true)
                    .interval(Duration.ofMillis(10)).duration(Duration.ofMillis(1500)).build();
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(samples::add);
                assertThat(s.failure()).isEmpty();
            }
            List<StackSample> deep = samples.stream()
                    .filter(x -> x.frames().stream().filter(f -> f.function().equals("down")).count() == 151).toList();
            Assumptions.assumeTrue(deep.size() >= 10, py.label() + ": only " + deep.size() + " samples (load?)");
            long whole = deep.stream().filter(DeepNativeStackTest::reachesTheEntry).count();
            String figures = py.label() + ": " + whole + " of " + deep.size() + " samples walked to the entry; first: "
                    + names(deep.getFirst()) .subList(0, 12) + "...; last outermost: "
                    + tail(names(deep.getLast()));
            System.out.println(figures);
            assertThat(reachesTheEntry(deep.getLast())).as(figures).isTrue();
            assertThat(whole).as(figures).isGreaterThanOrEqualTo(deep.size() / 2);
        }
    }

    private static boolean reachesTheEntry(StackSample s) {
        List<Frame> frames = s.frames();
        int module = -1;
        for (int i = 0; i < frames.size(); i++) {
            if (frames.get(i).kind() == Frame.FrameKind.PYTHON && frames.get(i).function().equals("<module>")) {
                module = i;
            }
        }
        return module >= 0 && frames.subList(module + 1, frames.size()).stream()
                .anyMatch(f -> f.kind() == Frame.FrameKind.NATIVE && ENTRIES.contains(f.function()));
    }

    private static List<String> names(StackSample s) {
        return s.frames().stream().map(Frame::function).toList();
    }

    private static List<String> tail(List<String> l) {
        return l.subList(Math.max(0, l.size() - 8), l.size());
    }
}
