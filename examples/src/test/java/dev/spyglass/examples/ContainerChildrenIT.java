package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.JSON;
import static dev.spyglass.examples.SpyglassCliIT.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code record --children} on a container whose entrypoint is a shell that starts Python, the Python starting a
 * second one with {@code subprocess} (docs/containers.md): every process's samples, each line naming the container.
 * Skipped with the reason while the CLI has no {@code --children} (child-process following).
 */
class ContainerChildrenIT {

    /** argv[1] "parent" starts a child running this script with "child"; both print "ready" once their threads run. */
    private static final String SCRIPT = String.join("\n",
            "import sys, threading, time, subprocess",
            "def worker():",
            "    while True:",
            "        time.sleep(0.01)",
            "def sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "if sys.argv[1] == 'parent':",
            "    subprocess.Popen([sys.executable, '-c', sys.argv[2], 'child', sys.argv[2]])",
            "t = threading.Thread(target=worker, name='worker-' + sys.argv[1])",
            "t.daemon = True",
            "t.start()",
            "print('ready', sys.argv[1], flush=True)",
            "sleeper()",
            "");

    @TempDir
    Path dir;

    @Test
    void recordsAPythonAndItsChildStartedByAShellEntrypoint() throws Exception {
        try (GenericContainer<?> c = shellEntrypoint()) {
            c.start();
            long python = onlyChild(DockerEngine.hostPid(c));
            Recorded r = recordChildren(python);
            assertThat(r.exit).as(r.err).isZero();
            assertRecordedBoth(r, c, python);
        }
    }

    /** The same, attached to the entrypoint shell itself: a root that is not CPython, whose descendants are. */
    @Test
    void recordsThePythonsUnderTheEntrypointShell() throws Exception {
        try (GenericContainer<?> c = shellEntrypoint()) {
            c.start();
            long shell = DockerEngine.hostPid(c);
            long python = onlyChild(shell);
            Recorded r = recordChildren(shell);
            assumeTrue(r.exit != Failures.NOT_PYTHON, "record --children -p on a root that is not CPython (the "
                    + "container's entrypoint shell) is refused: " + r.err.strip());
            assertThat(r.exit).as(r.err).isZero();
            assertRecordedBoth(r, c, python);
        }
    }

    private GenericContainer<?> shellEntrypoint() throws Exception {
        Process help = new ProcessBuilder(cli("record", "--help")).redirectErrorStream(true).start();
        String usage = new String(help.getInputStream().readAllBytes());
        help.waitFor();
        assumeTrue(usage.contains("--children"), "record --children is not in this build (child-process following)");
        GenericContainer<?> c = new GenericContainer<>(DockerEngine.assumeImage("debian-3.13"));
        // `; echo ended`: the shell stays the container's first process instead of exec'ing Python.
        c.withCommand("/bin/sh", "-c", "/usr/bin/python3.13 -c \"$0\" parent \"$0\"; echo ended", SCRIPT)
                .withLabel(DockerEngine.LABEL, "1")
                .waitingFor(Wait.forLogMessage(".*ready.*\\n", 2).withStartupTimeout(Duration.ofSeconds(60)));
        return c;
    }

    private static long onlyChild(long pid) throws Exception {
        String children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
        assertThat(children).as("children of %d", pid).matches("[0-9]+");
        return Long.parseLong(children);
    }

    private record Recorded(int exit, String err, List<String> lines) {
    }

    private Recorded recordChildren(long pid) throws Exception {
        Path out = dir.resolve("children-" + pid + ".jsonl");
        Path err = dir.resolve("children-" + pid + ".err");
        Process p = new ProcessBuilder(cli("record", "--children", "-p", Long.toString(pid), "-d", "3s", "-o",
                out.toString())).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Recorded(p.exitValue(), Files.readString(err),
                Files.exists(out) ? Files.readAllLines(out) : List.of());
    }

    /** Samples of the parent and of its child (another host PID), both threads each, all naming the container. */
    private static void assertRecordedBoth(Recorded r, GenericContainer<?> c, long parent) throws Exception {
        Set<Long> pids = new HashSet<>();
        Set<String> threads = new HashSet<>();
        for (String line : r.lines) {
            JsonNode sample = JSON.readTree(line);
            if (sample.has("type")) {
                continue; // the recording's header and end lines
            }
            assertThat(sample.get("container").asText()).isEqualTo(DockerEngine.shortId(c));
            pids.add(sample.get("pid").asLong());
            threads.add(sample.get("pid").asLong() == parent ? "parent " + sample.get("thread").asText()
                    : "child " + sample.get("thread").asText());
        }
        assertThat(pids).as(r.err).contains(parent).hasSize(2);
        assertThat(threads).contains("parent worker-parent", "child worker-child");
    }
}
