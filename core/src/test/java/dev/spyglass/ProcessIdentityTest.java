package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The attached process is held by identity: a new process under the same PID (PID reuse; a non-PIE
 * interpreter has its structures at the same addresses) or a new program in the same process
 * ({@code exec}) ends the session, and none of its samples is delivered.
 */
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock("pid-reuse") // its cases one after another: each cycles the PIDs towards one it wants
class ProcessIdentityTest {

    private static final String FIRST = String.join("\n",
            "import sys, os, time",
            "def first_program_function():",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    line = sys.stdin.readline()",
            "    if len(sys.argv) > 1:",
            "        os.execv(sys.argv[1], sys.argv[1:])",
            "    while True:",
            "        time.sleep(0.05)",
            "first_program_function()",
            "");

    private static final String REPLACEMENT = String.join("\n",
            "import sys, time",
            "def replacement_program_function():",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(0.01)",
            "replacement_program_function()",
            "");

    @ForEachPython
    void aSessionEndsWhenItsPidIsReusedByAnotherInterpreterOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        PidReuse.assumePossible();
        Path first = PythonScripts.write("first.py", FIRST);
        Path second = PythonScripts.write("replacement.py", REPLACEMENT);
        PythonScripts.Running a = PythonScripts.start(py, first);
        long pid = a.pid();
        Set<String> functions = ConcurrentHashMap.newKeySet();
        // Ticks 3 s apart: the old process dies and the new one is ready between two looks, so only
        // the identity tells them apart (a PID's reads go on succeeding in the new non-PIE interpreter).
        try (SamplingSession s = Sampler.builder().interval(Duration.ofSeconds(3)).build().attach(pid)) {
            Thread consumer = Thread.ofVirtual().start(() -> s.forEach(x -> x.frames().forEach(f -> functions.add(f.function()))));
            awaitSamples(s, 1);
            long killed = System.nanoTime();
            a.close();
            PythonScripts.Running b = startReplacement(py, pid, second);
            try {
                long readyMillis = (System.nanoTime() - killed) / 1_000_000;
                Assumptions.assumeFalse(s.isFinished(), () -> "the machine is too slow for this test: the new "
                        + "interpreter was ready " + readyMillis + " ms after the old one died, after the next look");
                assertThat(s.awaitTermination(Duration.ofSeconds(10))).as("session ends").isTrue();
                consumer.join(Duration.ofSeconds(5));
                assertThat(functions).contains("first_program_function").doesNotContain("replacement_program_function");
                assertThat(s.failure()).isEmpty();
                assertThat(s.processGone()).hasValueSatisfying(e -> {
                    assertThat(e.getMessage()).contains("process " + pid + " exited")
                            .contains("its PID now belongs to another process");
                    assertThat(e.programReplaced()).isFalse();
                });
            } finally {
                b.close();
            }
        } finally {
            a.close();
        }
    }

    @ForEachPython
    void aSnapshotAfterThePidWasReusedSaysTheProcessExitedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        PidReuse.assumePossible();
        Path first = PythonScripts.write("first.py", FIRST);
        Path second = PythonScripts.write("replacement.py", REPLACEMENT);
        PythonScripts.Running a = PythonScripts.start(py, first);
        long pid = a.pid();
        try (PythonProcess proc = PythonProcess.attach(pid)) {
            assertThat(proc.snapshot()).isNotEmpty();
            a.close();
            try (PythonScripts.Running b = startReplacement(py, pid, second)) {
                assertThatThrownBy(proc::snapshot).isInstanceOf(ProcessGoneException.class)
                        .hasMessageContaining("process " + pid + " exited")
                        .hasMessageContaining("its PID now belongs to another process");
            }
        } finally {
            a.close();
        }
    }

    @ForEachPython
    void aSessionEndsWhenTheTargetExecsTheSamePythonOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path second = PythonScripts.write("replacement.py", REPLACEMENT);
        List<String> exec = py.commandLine(second.toString());
        execs(py, exec, "replacement_program_function");
    }

    @ForEachPython
    void aSessionEndsWhenTheTargetExecsAnotherProgramOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        execs(py, List.of("/bin/sleep", "30"), null);
    }

    /** The exec check rides in the look's own read: a steady look is still one system call. */
    @ForEachPython
    void aSteadyLookIsStillOneRemoteReadOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path first = PythonScripts.write("first.py", FIRST);
        try (PythonScripts.Running a = PythonScripts.start(py, first);
                dev.spyglass.internal.python.Target t = dev.spyglass.internal.python.Target.attach(a.pid())) {
            for (int i = 0; i < 10; i++) {
                t.readThreads(SamplingMode.WALL);
            }
            long bare = Long.MAX_VALUE;
            long checked = Long.MAX_VALUE;
            for (int i = 0; i < 20; i++) {
                long before = t.memory().syscalls();
                t.reader().read(SamplingMode.WALL);
                long middle = t.memory().syscalls();
                t.readThreads(SamplingMode.WALL);
                bare = Math.min(bare, middle - before);
                checked = Math.min(checked, t.memory().syscalls() - middle);
            }
            // A look of one read copies the program's mark in it; a look of several (<=3.10 reads each
            // thread's TID from struct pthread) needs one more, after them.
            assertThat(checked).as("remote reads of the cheapest of 20 steady looks, with the identity check")
                    .isEqualTo(bare == 1 ? 1 : bare + 1);
        }
    }

    private static void execs(PythonInterpreter py, List<String> exec, String newFunction) throws Exception {
        Path first = PythonScripts.write("first.py", FIRST);
        try (PythonScripts.Running a = PythonScripts.start(py, first, exec.toArray(String[]::new));
                SamplingSession s = Sampler.builder().interval(Duration.ofMillis(1)).build().attach(a.pid())) {
            Set<String> functions = ConcurrentHashMap.newKeySet();
            Thread consumer = Thread.ofVirtual().start(() -> s.forEach(x -> x.frames().forEach(f -> functions.add(f.function()))));
            awaitSamples(s, 5);
            a.send("exec");
            assertThat(s.awaitTermination(Duration.ofSeconds(15))).as("session ends after the exec").isTrue();
            consumer.join(Duration.ofSeconds(5));
            assertThat(functions).contains("first_program_function");
            if (newFunction != null) {
                assertThat(functions).doesNotContain(newFunction);
            }
            assertThat(s.failure()).isEmpty();
            assertThat(s.processGone()).hasValueSatisfying(e -> {
                assertThat(e.programReplaced()).isTrue();
                assertThat(e.getMessage()).contains("process " + a.pid() + " replaced its program (exec)");
            });
        }
    }

    private static PythonScripts.Running startReplacement(PythonInterpreter py, long pid, Path script) throws Exception {
        Process p = PidReuse.startAs(pid, py.processBuilder(script.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD));
        return PythonScripts.awaitReady(py, p, script);
    }

    private static void awaitSamples(SamplingSession s, long n) throws InterruptedException {
        for (int i = 0; i < 2000 && s.stats().samples() < n; i++) {
            Thread.sleep(5);
        }
        assertThat(s.stats().samples()).as("samples before the change").isGreaterThanOrEqualTo(n);
    }
}
