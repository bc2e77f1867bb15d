package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link Sampler.Builder#followChildren}: the workers of a {@code multiprocessing.Pool(2)} (the version's default
 * start method, and spawn), a {@code subprocess} tree shell → python → python, and a parent that starts 200
 * short-lived children (a shell's `true` and a Python's `pass`, in turns); attached and launched. Each waits for what it looks for up to a deadline (20 s), and
 * skips, printing its figures, when a loaded machine gave the workers too few samples.
 */
@Execution(ExecutionMode.CONCURRENT)
class ChildProcessesTest {
    private static final long DEADLINE_NANOS = 20_000_000_000L;

    static final String POOL = String.join("\n",
            "import multiprocessing, os, sys, time",
            "def busy_work(n):",
            "    x = 0",
            "    end = time.time() + 0.05",
            "    while time.time() < end:",
            "        x = (x + n) % 1000",
            "    return x",
            "if __name__ == '__main__':",
            "    if len(sys.argv) > 1 and sys.argv[1] != 'default':",
            "        multiprocessing.set_start_method(sys.argv[1])",
            "    pool = multiprocessing.Pool(2)",
            "    pool.map(busy_work, range(2))",
            "    sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "    while True:",
            "        pool.map(busy_work, range(40))",
            "");

    static final String MIDDLE = String.join("\n",
            "import os, subprocess, sys, time",
            "def middle_wait(p):",
            "    p.wait()",
            "p = subprocess.Popen([sys.executable, sys.argv[1]])",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "middle_wait(p)",
            "");

    static final String LEAF = String.join("\n",
            "import time",
            "def leaf_spin():",
            "    x = 0",
            "    while True:",
            "        x = (x + 1) % 1000",
            "leaf_spin()",
            "");

    static final String CHURN = String.join("\n",
            "import os, subprocess, sys, time",
            "def churn():",
            "    for i in range(200):",
            "        subprocess.call(['true'] if i % 2 else [sys.executable, '-c', 'pass'])",
            "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
            "time.sleep(0.3)",
            "churn()",
            "");

    @ForEachPython
    void poolWorkersAppearWithTheirPidsAttachedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumePoolStarts(py, "default");
        Path script = PythonScripts.write("pool.py", POOL);
        try (PythonScripts.Running target = PythonScripts.start(py, script, "default")) {
            assertWorkersSampled(py, "default", target.pid(), sampler().attach(target.pid()));
        }
    }

    @ForEachPython
    void spawnedPoolWorkersAppearLaunchedOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.atLeast(3, 4), "multiprocessing start methods are 3.4+");
        assumePoolStarts(py, "spawn");
        Path script = PythonScripts.write("pool.py", POOL);
        ProcessBuilder b = py.processBuilder(script.toString(), "spawn").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        SamplingSession s = sampler().launch(b);
        Process p = s.process().orElseThrow();
        try {
            assertWorkersSampled(py, "spawn", s.pid(), s);
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    @ForEachPython
    void subprocessTreeIsFollowedThroughAShellOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumePoolStarts(py, "spawn"); // the leaf is started from sys.executable too
        Path middle = PythonScripts.write("middle.py", MIDDLE);
        Path leaf = PythonScripts.write("leaf.py", LEAF);
        // sh -c 'PYTHON middle.py leaf.py; true': the shell stays (no exec of the last command), a parent that is
        // not Python, as a container's entrypoint or a wrapper script is.
        ProcessBuilder b = py.processBuilder(middle.toString(), leaf.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "\"$@\"; true", "sh"));
        cmd.addAll(b.command());
        b.command(cmd);
        try (SamplingSession s = sampler().launch(b)) {
            Process shell = s.process().orElseThrow();
            try {
                long middlePid = s.pid();
                List<StackSample> leafSamples = new ArrayList<>();
                long deadline = System.nanoTime() + DEADLINE_NANOS;
                try (var stream = s.stream()) {
                    var it = stream.iterator();
                    while (leafSamples.size() < 20 && System.nanoTime() - deadline < 0 && it.hasNext()) {
                        StackSample x = it.next();
                        if (x.frames().stream().anyMatch(f -> f.function().equals("leaf_spin"))) {
                            leafSamples.add(x);
                        }
                    }
                }
                String figures = py.label() + ": " + leafSamples.size() + " leaf samples, processes " + s.processes()
                        + ", " + s.childProcesses();
                System.out.println(figures);
                Assumptions.assumeTrue(!leafSamples.isEmpty(), "no leaf sample in 20 s (load?): " + figures);
                long leafPid = leafSamples.get(0).pid();
                assertThat(leafPid).as(figures).isNotEqualTo(middlePid).isNotEqualTo(shell.pid());
                assertThat(leafSamples).as(figures).allMatch(x -> x.pid() == leafPid);
                assertThat(s.processes()).as(figures).anyMatch(p -> p.pid() == leafPid && p.parentPid() == middlePid
                        && p.command().contains("leaf.py") && p.samples() > 0);
                assertThat(s.processes().get(0).pid()).as(figures).isEqualTo(middlePid);
                // The shell is no Python: skipped, and counted as such.
                assertThat(s.childProcesses().notPython()).as(figures).isGreaterThanOrEqualTo(1);
            } finally {
                shell.descendants().forEach(ProcessHandle::destroyForcibly);
                shell.destroyForcibly();
            }
        }
    }

    @ForEachPython
    void aShellAttachedToIsPassedThroughToItsPythonDescendantsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumePoolStarts(py, "spawn"); // the leaf is started from sys.executable
        Path middle = PythonScripts.write("middle.py", MIDDLE);
        Path leaf = PythonScripts.write("leaf.py", LEAF);
        ProcessBuilder b = py.processBuilder(middle.toString(), leaf.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "\"$@\"; true", "sh"));
        cmd.addAll(b.command());
        Process shell = b.command(cmd).start();
        try {
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            while (shell.descendants().count() < 2 && System.nanoTime() - deadline < 0) {
                Thread.sleep(20);
            }
            Thread.sleep(300); // both Pythons past their start-up
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Sampler.builder().build().attach(shell.pid()))
                    .isInstanceOf(NotAPythonProcessException.class);
            try (SamplingSession s = sampler().attach(shell.pid())) {
                Set<Long> leafPids = new HashSet<>();
                try (var stream = s.stream()) {
                    var it = stream.iterator();
                    while (leafPids.isEmpty() && System.nanoTime() - deadline < 0 && it.hasNext()) {
                        StackSample x = it.next();
                        if (x.frames().stream().anyMatch(f -> f.function().equals("leaf_spin"))) {
                            leafPids.add(x.pid());
                        }
                    }
                }
                String figures = py.label() + ": leaf pids " + leafPids + ", processes " + s.processes();
                System.out.println(figures);
                Assumptions.assumeTrue(!leafPids.isEmpty(), "no leaf sample in 20 s (load?): " + figures);
                assertThat(leafPids).as(figures).doesNotContain(shell.pid());
                assertThat(s.pid()).as(figures).isNotEqualTo(shell.pid());
                assertThat(s.processes()).as(figures).anyMatch(p -> p.command().contains("middle.py"))
                        .anyMatch(p -> p.command().contains("leaf.py"));
            }
        } finally {
            shell.descendants().forEach(ProcessHandle::destroyForcibly);
            shell.destroyForcibly().waitFor();
        }
    }

    @ForEachPython
    void shortLivedChildrenAreBoundedAndTheSessionEndsWithTheTreeOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("churn.py", CHURN);
        try (PythonScripts.Running target = PythonScripts.start(py, script);
                SamplingSession s = Sampler.builder().interval(Duration.ofMillis(5)).followChildren(true)
                        .duration(Duration.ofMinutes(3)).build().attach(target.pid())) {
            Set<Long> pids = new HashSet<>();
            s.forEach(x -> pids.add(x.pid())); // ends when the parent and every child followed have exited
            String figures = py.label() + ": pids " + pids + ", " + s.childProcesses() + ", " + s.stats();
            System.out.println(figures);
            assertThat(s.failure()).as(figures).isEmpty();
            assertThat(s.processGone()).as(figures).isPresent();
            assertThat(pids).as(figures).contains(target.pid());
            assertThat(s.processes()).as(figures).allMatch(SampledProcess::ended);
        }
    }

    @ForEachPython
    void withoutFollowingOnlyTheTargetIsSampledOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumePoolStarts(py, "default");
        Path script = PythonScripts.write("pool.py", POOL);
        try (PythonScripts.Running target = PythonScripts.start(py, script, "default");
                SamplingSession s = Sampler.builder().interval(Duration.ofMillis(5)).duration(Duration.ofMillis(500))
                        .build().attach(target.pid())) {
            Set<Long> pids = new HashSet<>();
            s.forEach(x -> pids.add(x.pid()));
            assertThat(pids).containsOnly(target.pid());
            assertThat(s.processes()).singleElement().satisfies(p -> assertThat(p.pid()).isEqualTo(target.pid()));
            assertThat(s.childProcesses()).isEqualTo(ChildProcessCounts.NONE);
        }
    }

    /**
     * An interpreter run through its root's loader ({@code ld-linux.so --library-path ... python3}) has a
     * {@code sys.executable} that cannot start on its own: spawn and forkserver (3.14's default) workers fail.
     */
    static void assumePoolStarts(PythonInterpreter py, String method) {
        String command = String.join(" ", py.commandLine());
        boolean throughLoader = command.contains("ld-linux") || command.contains("spyglass-python");
        boolean execs = method.equals("spawn") || (method.equals("default") && py.atLeast(3, 14));
        Assumptions.assumeFalse(throughLoader && execs, py.label() + ": sys.executable needs the root's loader, "
                + "so " + method + " workers cannot start");
    }

    private static Sampler sampler() {
        // Wall mode: the parent's waiting main thread gives a sample every tick, so a loop over the samples checks
        // its deadline even while no worker runs.
        return Sampler.builder().interval(Duration.ofMillis(5)).followChildren(true).build();
    }

    /** Samples until two worker PIDs showed busy_work (at most 20 s), then checks what the session lists. */
    private static void assertWorkersSampled(PythonInterpreter py, String method, long parent, SamplingSession s)
            throws Exception {
        try (s) {
            Set<Long> workers = new HashSet<>();
            long parentBusy = 0;
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            try (var stream = s.stream()) {
                var it = stream.iterator();
                while (workers.size() < 2 && System.nanoTime() - deadline < 0 && it.hasNext()) {
                    StackSample x = it.next();
                    if (x.frames().stream().anyMatch(f -> f.function().equals("busy_work"))) {
                        if (x.pid() == parent) {
                            parentBusy++;
                        } else {
                            workers.add(x.pid());
                        }
                    }
                }
            }
            String figures = py.label() + " (" + method + "): workers with busy_work " + workers + ", processes "
                    + s.processes() + ", " + s.childProcesses();
            System.out.println(figures);
            Assumptions.assumeTrue(!workers.isEmpty(), "no worker sample in 20 s (load?): " + figures);
            assertThat(parentBusy).as(figures).isZero(); // the parent only waits for the pool
            assertThat(s.processes().get(0).pid()).as(figures).isEqualTo(parent);
            for (long w : workers) {
                assertThat(s.processes()).as(figures).anyMatch(p -> p.pid() == w && p.samples() > 0
                        && p.version().major() == py.major() && p.version().minor() == py.minor());
            }
            assertThat(s.failure()).as(figures).isEmpty();
        }
    }
}
