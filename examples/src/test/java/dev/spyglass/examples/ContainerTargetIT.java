package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.JSON;
import static dev.spyglass.examples.SpyglassCliIT.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.exception.NotFoundException;

import dev.spyglass.Frame;
import dev.spyglass.PythonProcess;
import dev.spyglass.ThreadStack;

/**
 * A CPython in a real Docker container, sampled from the host by its host PID (docs/containers.md): the
 * interpreter's files are read inside the container's root, frames name the files as the container sees them,
 * thread ids are host TIDs, and the process is named by its container's short id. Images and engine come from
 * scripts/docker-engine.sh; without them every test here is skipped with the reason.
 */
class ContainerTargetIT {

    /** A sleeping main thread and a sleeping worker named after argv[1]; "ready" once both run. */
    static final String SCRIPT = String.join("\n",
            "import sys, threading, time",
            "def worker():",
            "    while True:",
            "        time.sleep(0.01)",
            "def sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "t = threading.Thread(target=worker, name='worker-' + sys.argv[1])",
            "t.daemon = True",
            "t.start()",
            "print('ready', flush=True)",
            "sleeper()",
            "");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "debian-3.11, /usr/bin/python3.11, 3.11., /usr/lib/python3.11/",
        "debian-3.13, /usr/bin/python3.13, 3.13., /usr/lib/python3.13/",
        "debian-3.14, /usr/bin/python3.14, 3.14., /usr/lib/python3.14/",
        "debian-3.15, /usr/bin/python3.15, 3.15., /usr/lib/python3.15/",
        // pyenv's shared-libpython build: the interpreter is in libpython3.12.so.1.0, a second mapped object.
        "pyenv-3.12, /root/.pyenv/versions/3.12.1/bin/python3.12, 3.12.1, /root/.pyenv/versions/3.12.1/lib/python3.12/",
    })
    void samplesPythonInAContainerFromTheHostOn(String image, String python, String version, String libDir)
            throws Exception {
        try (GenericContainer<?> c = DockerEngine.pythonContainer(DockerEngine.assumeImage(image), python, "-c",
                SCRIPT, "a")) {
            c.start();
            assertSampledFromTheHost(c, version, libDir, "a");
        }
    }

    @Test
    void samplesAContainerWhoseImageWasDeletedAfterStart() throws Exception {
        DockerImageName base = DockerEngine.assumeImage("debian-3.13");
        String tag = "spyglass-test/deleted-" + ProcessHandle.current().pid() + ":" + DockerEngine.REV;
        DockerEngine.client().tagImageCmd(base.asCanonicalNameString(), tag.substring(0, tag.indexOf(':')),
                DockerEngine.REV).exec();
        try (GenericContainer<?> c = DockerEngine.pythonContainer(DockerImageName.parse(tag), "/usr/bin/python3.13",
                "-c", SCRIPT, "a")) {
            c.start();
            DockerEngine.client().removeImageCmd(tag).withForce(true).exec();
            assertThatThrownBy(() -> DockerEngine.client().inspectImageCmd(tag).exec())
                    .as("the image is gone").isInstanceOf(NotFoundException.class);
            assertSampledFromTheHost(c, "3.13.", "/usr/lib/python3.13/", "a");
        } finally {
            try {
                DockerEngine.client().removeImageCmd(tag).withForce(true).exec();
            } catch (NotFoundException e) {
                // removed above
            }
        }
    }

    @Test
    void samplesAContainerWithAReadOnlyRootFileSystem() throws Exception {
        try (GenericContainer<?> c = DockerEngine.pythonContainer(DockerEngine.assumeImage("debian-3.14"),
                "/usr/bin/python3.14", "-c", SCRIPT, "a")) {
            DockerEngine.modify(c, cmd -> cmd.getHostConfig().withReadonlyRootfs(true));
            c.start();
            assertThat(c.getContainerInfo().getHostConfig().getReadonlyRootfs()).isTrue();
            assertSampledFromTheHost(c, "3.14.", "/usr/lib/python3.14/", "a");
        }
    }

    @Test
    void samplesAContainerRunningAsANonRootUser() throws Exception {
        try (GenericContainer<?> c = DockerEngine.pythonContainer(DockerEngine.assumeImage("debian-3.11"),
                "/usr/bin/python3.11", "-c", SCRIPT, "a")) {
            DockerEngine.modify(c, cmd -> cmd.withUser("1000:1000"));
            c.start();
            String status = Files.readString(Path.of("/proc/" + DockerEngine.hostPid(c) + "/status"));
            assertThat(status).containsPattern("\nUid:\\s+1000\\s");
            assertSampledFromTheHost(c, "3.11.", "/usr/lib/python3.11/", "a");
        }
    }

    /** Two containers of one image recorded at once by two CLIs: every sample names its own process and container. */
    @Test
    void attributesEachSampleToItsContainerWhenTwoOfOneImageRun() throws Exception {
        DockerImageName image = DockerEngine.assumeImage("debian-3.13");
        try (GenericContainer<?> a = DockerEngine.pythonContainer(image, "/usr/bin/python3.13", "-c", SCRIPT, "a");
                GenericContainer<?> b = DockerEngine.pythonContainer(image, "/usr/bin/python3.13", "-c", SCRIPT, "b")) {
            a.start();
            b.start();
            Path outA = dir.resolve("a.jsonl");
            Path outB = dir.resolve("b.jsonl");
            Process ra = record(a, outA);
            Process rb = record(b, outB);
            assertThat(ra.waitFor(60, TimeUnit.SECONDS) && rb.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(ra.exitValue()).as(Files.readString(dir.resolve("a.jsonl.err"))).isZero();
            assertThat(rb.exitValue()).as(Files.readString(dir.resolve("b.jsonl.err"))).isZero();
            assertRecordedOnly(outA, a, "worker-a");
            assertRecordedOnly(outB, b, "worker-b");
            assertContainerOutermost(outA, a);
            // dump names the container too, in text and in JSON.
            Process dump = new ProcessBuilder(cli("dump", "-p", Long.toString(DockerEngine.hostPid(b))))
                    .redirectErrorStream(true).start();
            String text = new String(dump.getInputStream().readAllBytes());
            assertThat(dump.waitFor()).as(text).isZero();
            assertThat(text).contains("\nContainer " + DockerEngine.shortId(b) + "\n").contains("worker-b");
            Process json = new ProcessBuilder(cli("dump", "--json", "-p", Long.toString(DockerEngine.hostPid(a))))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            JsonNode doc = JSON.readTree(json.getInputStream().readAllBytes());
            assertThat(json.waitFor()).isZero();
            assertThat(doc.get("container").asText()).isEqualTo(DockerEngine.shortId(a));
        }
    }

    private Process record(GenericContainer<?> c, Path out) throws Exception {
        // --idle: both threads sleep nearly all the time, and the flame-graph formats leave idle samples out by
        // default; without it the collapsed file held only the instants a thread was caught running, none in
        // 2 s with two CPU hogs.
        return new ProcessBuilder(cli("record", "-p", Long.toString(DockerEngine.hostPid(c)), "-d", "2s", "--idle",
                "-o", out.toString(), "-o", out + ".collapsed", "-o", out + ".html"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(Path.of(out + ".err").toFile()).start();
    }

    /**
     * The collapsed and HTML profiles recorded beside the jsonl put the container above the process, and the jsonl
     * converted to collapsed gives the same file (its header keeps the container).
     */
    private void assertContainerOutermost(Path jsonl, GenericContainer<?> c) throws Exception {
        String level = "container " + DockerEngine.shortId(c);
        List<String> collapsed = Files.readAllLines(Path.of(jsonl + ".collapsed"));
        assertThat(collapsed).isNotEmpty()
                .allSatisfy(l -> assertThat(l).startsWith(level + ";process " + DockerEngine.hostPid(c) + ";"));
        assertThat(Files.readString(Path.of(jsonl + ".html"))).contains("\"" + level + "\"")
                .contains("\"container\":\"" + DockerEngine.shortId(c) + "\"");
        Path converted = dir.resolve("converted.collapsed");
        Process convert = new ProcessBuilder(cli("convert", jsonl.toString(), converted.toString()))
                .redirectErrorStream(true).start();
        String log = new String(convert.getInputStream().readAllBytes());
        assertThat(convert.waitFor()).as(log).isZero();
        assertThat(Files.readAllLines(converted)).containsExactlyElementsOf(collapsed);
    }

    private static void assertRecordedOnly(Path jsonl, GenericContainer<?> c, String worker) throws Exception {
        List<String> lines = Files.readAllLines(jsonl);
        assertThat(lines).isNotEmpty();
        Set<String> threads = new HashSet<>();
        for (String line : lines) {
            JsonNode sample = JSON.readTree(line);
            if (sample.has("type")) {
                continue; // the recording's header and end lines
            }
            assertThat(sample.get("pid").asLong()).isEqualTo(DockerEngine.hostPid(c));
            assertThat(sample.get("container").asText()).isEqualTo(DockerEngine.shortId(c));
            threads.add(sample.get("thread").asText());
        }
        assertThat(threads).contains(worker).allMatch(t -> !t.startsWith("worker-") || t.equals(worker));
    }

    /**
     * Attaches by host PID and checks, until a 20 s deadline, one snapshot: the main thread in {@code sleeper}
     * with the host PID as its TID, the worker in {@code worker} under threading's {@code run} read from the
     * container's standard library, and the container named.
     */
    static void assertSampledFromTheHost(GenericContainer<?> c, String version, String libDir, String tag)
            throws Exception {
        long pid = DockerEngine.hostPid(c);
        try (PythonProcess py = PythonProcess.attach(pid)) {
            assertThat(py.version().toString()).startsWith(version);
            assertThat(py.container()).contains(DockerEngine.shortId(c));
            long deadline = System.nanoTime() + 20_000_000_000L;
            List<ThreadStack> last = List.of();
            while (System.nanoTime() < deadline) {
                last = py.snapshot();
                if (seen(last, pid, libDir, tag)) {
                    return;
                }
                Thread.sleep(50);
            }
            throw new AssertionError("no snapshot of process " + pid + " in container " + DockerEngine.shortId(c)
                    + " showed both threads within 20 s; the last: " + last);
        }
    }

    private static boolean seen(List<ThreadStack> threads, long pid, String libDir, String tag) {
        boolean main = false;
        boolean worker = false;
        for (ThreadStack t : threads) {
            List<String> names = t.frames().stream().map(Frame::function).toList();
            if (t.nativeThreadId() == pid && names.contains("sleeper")) {
                main = true;
            }
            if (t.threadName().equals("worker-" + tag) && names.contains("worker") && t.nativeThreadId() > 0
                    && t.nativeThreadId() != pid && t.frames().stream()
                            .anyMatch(f -> f.function().equals("run") && f.file().equals(libDir + "threading.py"))) {
                worker = true;
            }
        }
        return main && worker;
    }
}
