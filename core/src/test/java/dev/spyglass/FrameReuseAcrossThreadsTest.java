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
 * CPython 2.7 – 3.10 reuse frame objects across threads (a code object's zombie frame, the free list): two threads
 * call the same functions, each through ctypes (the GIL released), so one thread's returned {@code checked} frame is
 * often the other's next one. A read of thread A that meets such a frame must not report thread B's stack under A
 * (its {@code f_back} leads down B's stack, to B's root function). Without the look's frame-ownership check, 3 of
 * 158,000 stacks did on 3.9 on a quiet machine, and the leak tracker gave one thread's mappings to the other.
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
            "for f, name in ((root_a, 'A'), (root_b, 'B')):",
            "    t = threading.Thread(target=f, name=name)",
            "    t.daemon = True",
            "    t.start()",
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
            List<String> crossed = new ArrayList<>();
            long end = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < end) {
                looks++;
                for (ThreadStack t : proc.snapshot()) {
                    String own = t.threadName().equals("A") ? "root_a" : t.threadName().equals("B") ? "root_b" : null;
                    if (own == null) {
                        continue;
                    }
                    stacks++;
                    String other = own.equals("root_a") ? "root_b" : "root_a";
                    if (t.frames().stream().anyMatch(f -> f.function().equals(other)) && crossed.size() < 5) {
                        crossed.add(t.threadName() + ": " + t.frames());
                    }
                }
            }
            String figures = String.format(Locale.ROOT, "%s: %d looks in 4 s, %d stacks of A and B, %d with the other"
                    + " thread's root", py.label(), looks, stacks, crossed.size());
            System.out.println(figures);
            assertThat(crossed).as(figures).isEmpty();
            assertThat(stacks).as(figures).isPositive();
        }
    }
}
