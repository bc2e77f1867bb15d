package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * CPython 2.7 – 3.10 reuse frame objects across threads (a code object's zombie frame, the free list): four threads
 * call the same functions, each through ctypes (the GIL released), so one thread's returned {@code shared} frame is
 * often another's next one. A read of thread A that meets such a frame must not report thread B's stack under A
 * (its {@code f_back} leads down B's stack, to B's root function). Without the look's frame-ownership check, 3 of
 * 158,000 stacks did on 3.9 on a quiet machine, and the leak tracker gave one thread's mappings to another. Two
 * threads may also swap frames, each walk ending at the other's outermost frame (5 of 57,520 stacks on 2.7 in CI):
 * four threads make that likelier (without the previous look's check: 0, 6, 13 of ~30,000 on 2.7 in three runs).
 * A stack must also keep its own root: a walk that met a frame freed meanwhile (its {@code f_back} stale or the free
 * list's next link) ended early, e.g. {@code [shared, checked]}; without the walker's {@code ob_refcnt} check 0 – 6
 * such stacks per interpreter in every run, on 5 or 6 of the 6 interpreters.
 * Fewer looks (a loaded machine) find fewer such races; the test never fails for that, it prints its figures.
 */
@Execution(ExecutionMode.CONCURRENT)
class FrameReuseAcrossThreadsTest {
    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, threading, time",
            "libc = ctypes.CDLL(None)",
            "def checked(a):",
            "    return a",
            "def shared(n):",
            "    return checked(libc.getpid()) + n",
            "def root_a():",
            "    n = 0",
            "    while True:",
            "        shared(n)",
            "def root_b():",
            "    n = 0",
            "    while True:",
            "        shared(n)",
            "def root_c():",
            "    n = 0",
            "    while True:",
            "        shared(n)",
            "def root_d():",
            "    n = 0",
            "    while True:",
            "        shared(n)",
            "for f, name in ((root_a, 'A'), (root_b, 'B'), (root_c, 'C'), (root_d, 'D')):",
            "    t = threading.Thread(target=f, name=name)",
            "    t.daemon = True",
            "    t.start()",
            "time.sleep(0.2)  # every thread in its root function",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    time.sleep(1)",
            "");

    @ForEachPython
    void aThreadNeverShowsAnotherThreadsStackOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeFalse(py.atLeast(3, 11), "3.11+ keeps frames in each thread's own data stack");
        try (PythonScripts.Running target = PythonScripts.start(py, PythonScripts.write("frame_reuse.py", SCRIPT));
                PythonProcess proc = PythonProcess.attach(target.pid())) {
            long looks = 0;
            long stacks = 0;
            long crossedStacks = 0;
            List<String> crossed = new ArrayList<>();
            long shortStacks = 0;
            List<String> shortened = new ArrayList<>();
            long end = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < end) {
                looks++;
                for (ThreadStack t : proc.snapshot()) {
                    String name = t.threadName();
                    if (name.length() != 1 || "ABCD".indexOf(name.charAt(0)) < 0) {
                        continue;
                    }
                    stacks++;
                    String own = "root_" + name.toLowerCase(Locale.ROOT);
                    if (!t.frames().isEmpty() && t.frames().stream().noneMatch(f -> f.function().equals(own))) {
                        shortStacks++;
                        if (shortened.size() < 5) {
                            shortened.add(t.threadName() + ": " + t.frames());
                        }
                    }
                    if (t.frames().stream().anyMatch(f -> f.function().startsWith("root_") && !f.function().equals(own))) {
                        crossedStacks++;
                        if (crossed.size() < 5) {
                            crossed.add(t.threadName() + ": " + t.frames());
                        }
                    }
                }
            }
            String figures = String.format(Locale.ROOT, "%s: %d looks in 4 s, %d stacks of A - D, %d with another"
                    + " thread's root, %d without their own", py.label(), looks, stacks, crossedStacks, shortStacks);
            System.out.println(figures);
            assertThat(crossed).as(figures).isEmpty();
            // A walk that met a frame freed meanwhile (zombie or free list: f_back stale or the next free frame)
            // ended early: 12 - 17 stacks per run of the six interpreters before the refcount check.
            assertThat(shortened).as(figures).isEmpty();
            assertThat(stacks).as(figures).isPositive();
        }
    }
}
