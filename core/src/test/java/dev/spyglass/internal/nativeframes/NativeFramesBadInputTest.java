package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.PythonScripts;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.Ptrace;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * What native frames do with a target that makes stopping threads hard: another tracer, threads
 * that end while being stopped, a sampler killed mid-stop, a child of the sampling JVM. The target
 * must never be left stopped or traced, and each case says what happened.
 */
class NativeFramesBadInputTest {

    private static final String SPIN = String.join("\n",
            "import os, sys, threading, time",
            "def spin():",
            "    n = 0",
            "    while True:",
            "        n += 1",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "spin()",
            "");

    private static void assumePtrace() throws Exception {
        NativeTargets.assumePtrace();
    }

    private static PythonInterpreter python() {
        return PythonInterpreters.assumeAny(3, 12);
    }

    /** Every thread of {@code pid}: not traced, not in a stop (state t or T), over {@code millis}. */
    private static void assertRunningUntraced(long pid, long millis) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000;
        do {
            try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path t : (Iterable<Path>) tasks::iterator) {
                    int tid = Integer.parseInt(t.getFileName().toString());
                    String stat;
                    try {
                        stat = Files.readString(t.resolve("stat"));
                    } catch (java.io.IOException ended) {
                        continue; // the thread ended after it was listed (ESRCH)
                    }
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    assertThat(Ptrace.tracerOf(pid, tid)).as("tracer of %d/%d", pid, tid).isZero();
                    assertThat(state).as("state of %d/%d", pid, tid).isNotIn('t', 'T');
                }
            } catch (java.nio.file.NoSuchFileException ended) {
                // a thread ended while listed
            }
            Thread.sleep(20);
        } while (System.nanoTime() - end < 0);
    }

    @Test
    void aTargetTracedByAnotherToolIsRefusedNamingIt() throws Exception {
        assumePtrace();
        assumeTrue(new File("/usr/bin/strace").canExecute(), "strace is not installed");
        PythonInterpreter py = python();
        Path script = PythonScripts.write("native_traced.py", SPIN);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            Process strace = new ProcessBuilder("strace", "-p", Long.toString(target.pid()), "-o", "/dev/null")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                for (int i = 0; i < 200 && Ptrace.tracerOf(target.pid(), (int) target.pid()) == 0; i++) {
                    Thread.sleep(10);
                }
                assumeTrue(Ptrace.tracerOf(target.pid(), (int) target.pid()) != 0, "strace did not attach");
                Sampler sampler = Sampler.builder().nativeFrames(true).build();
                assertThatThrownBy(() -> sampler.attach(target.pid()).close())
                        .isInstanceOf(AccessDeniedException.class)
                        .hasMessageContaining("already traced by process " + strace.pid());
            } finally {
                strace.destroy();
                strace.waitFor(5, TimeUnit.SECONDS);
            }
            assertRunningUntraced(target.pid(), 100);
        }
    }

    @Test
    void threadsEndingWhileStoppedAreSkippedAndTheTargetGoesOn() throws Exception {
        assumePtrace();
        PythonInterpreter py = python();
        Path script = PythonScripts.write("native_churn.py", String.join("\n",
                "import os, sys, threading, time",
                "def short():",
                "    sum(range(2000))",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "while True:",
                "    ts = [threading.Thread(target=short) for _ in range(8)]",
                "    for t in ts: t.start()",
                "    for t in ts: t.join()",
                ""));
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(1))
                    .duration(Duration.ofSeconds(3)).build();
            SamplingStats stats;
            long[] samples = {0};
            try (SamplingSession s = sampler.attach(target.pid())) {
                s.forEach(x -> samples[0]++);
                assertThat(s.failure()).as("session failure").isEmpty();
                stats = s.stats();
            }
            System.out.println("thread churn: " + stats);
            assertThat(samples[0]).as("%s", stats).isPositive();
            assertThat(stats.threadStops().stops()).as("%s", stats).isPositive();
            assertThat(target.process().isAlive() && ProcessHandle.of(target.pid()).map(ProcessHandle::isAlive)
                    .orElse(false)).as("target alive").isTrue();
            assertRunningUntraced(target.pid(), 200);
        }
    }

    @Test
    void aSamplerKilledWhileStoppingLeavesTheTargetRunning() throws Exception {
        assumePtrace();
        PythonInterpreter py = python();
        Path script = PythonScripts.write("native_killed.py", SPIN);
        try (PythonScripts.Running target = PythonScripts.startUnderShell(py, script)) {
            String cp = System.getProperty("java.class.path") + File.pathSeparator
                    + System.getProperty("jdk.module.path", "");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", cp, NativeSamplerMain.class.getName(),
                    Long.toString(target.pid())));
            Process jvm = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream()))) {
                assertThat(out.readLine()).as("the sampling JVM's first line").isEqualTo("sampling");
                // At 10 µs per tick the sampler is inside a stop a good part of the time: kill it there.
                Thread.sleep(300);
                jvm.destroyForcibly();
                assertThat(jvm.waitFor(10, TimeUnit.SECONDS)).as("sampler ended").isTrue();
            } finally {
                jvm.destroyForcibly();
            }
            assertRunningUntraced(target.pid(), 300);
            long before = cpuTicks(target.pid());
            Thread.sleep(300);
            assertThat(cpuTicks(target.pid())).as("the target keeps running").isGreaterThan(before);
        }
    }

    @Test
    void aChildOfThisJvmIsRefusedAndLeftAlone() throws Exception {
        assumePtrace();
        PythonInterpreter py = python();
        Path script = PythonScripts.write("native_child.py", SPIN);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            Sampler sampler = Sampler.builder().nativeFrames(true).build();
            assertThatThrownBy(() -> sampler.attach(target.pid()).close()).isInstanceOf(SpyglassException.class)
                    .hasMessageContaining("child of this JVM");
            assertRunningUntraced(target.pid(), 100);
            assertThat(target.process().isAlive()).as("the JVM still sees its child running").isTrue();
        }
    }

    /** utime + stime of the process, in clock ticks. */
    private static long cpuTicks(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
