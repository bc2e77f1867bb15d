package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The loop that measured the stale code headers of the read-ahead (docs/performance.md, "Why a look is cheap"):
 * 15 starts of {@link PythonScripts#SUBINTERPRETER} per interpreter, each looked at back to back for 0.6 s from
 * the moment the sub-interpreter begins; every look of its thread in {@code in_sub} must show the module at line 5.
 * Before the fix, 1 look in ~250,000 showed line 1: the {@code run_string} module had taken the address of a freed
 * {@code .pth} line's module, whose header the look's first call had copied. {@code ReadAheadCodeHeaderTest} is
 * the suite's deterministic check; this loop (about a minute) is off unless asked for:
 * {@code ./mvnw -pl core test -Djazzer.skip -Dtest=SubInterpreterStartLoop -Dspyglass.loops=true
 * -Dsurefire.failIfNoSpecifiedTests=false}; the figures are in its {@code -output.txt} report.
 */
@EnabledIfSystemProperty(named = "spyglass.loops", matches = "true")
@Execution(ExecutionMode.CONCURRENT)
class SubInterpreterStartLoop {
    private static final int STARTS = 15;
    private static final long LOOKING_NANOS = 600_000_000L;

    @ForEachPython
    void everyLookShowsTheModuleAtItsCall(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 8), "no _xxsubinterpreters before 3.8");
        List<String> wrong = new ArrayList<>();
        long looks = 0;
        for (int start = 0; start < STARTS; start++) {
            Path script = PythonScripts.write("subinterp.py", PythonScripts.SUBINTERPRETER);
            try (PythonScripts.Running target = PythonScripts.start(py, script);
                    PythonProcess proc = PythonProcess.attach(target.pid())) {
                target.process().getOutputStream().write("go\n".getBytes());
                target.process().getOutputStream().flush();
                long end = System.nanoTime() + LOOKING_NANOS;
                while (System.nanoTime() < end) {
                    for (ThreadStack t : proc.snapshot()) {
                        List<Frame> frames = t.frames();
                        if (t.interpreterId() == 0 || frames.isEmpty() || !frames.get(0).function().equals("in_sub")) {
                            continue;
                        }
                        looks++;
                        if (frames.get(frames.size() - 1).line() != 5) {
                            wrong.add("start " + start + ": " + SnapshotTest.describe(frames));
                        }
                    }
                }
            }
        }
        System.err.printf("%s: %d looks in in_sub, %d with the module off its call%s%n", py, looks, wrong.size(),
                wrong.isEmpty() ? "" : " " + wrong.subList(0, Math.min(5, wrong.size())));
        assertThat(wrong).isEmpty();
    }
}
