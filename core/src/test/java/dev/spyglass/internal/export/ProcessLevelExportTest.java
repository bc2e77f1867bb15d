package dev.spyglass.internal.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;
import dev.spyglass.internal.os.ProcessTree;

/**
 * Samples of two processes (this JVM and its parent: real processes, so their command lines are read as for a
 * recording) put the process outermost in each aggregating format, named with its command; one process keeps
 * {@code process PID} alone.
 */
class ProcessLevelExportTest {
    private static final long ME = ProcessHandle.current().pid();
    private static final long PARENT = ProcessHandle.current().parent().orElseThrow().pid();

    private static void feed(Exporter e, long... pids) throws Exception {
        long t = 1_000_000_000L;
        for (long pid : pids) {
            for (int i = 0; i < 3; i++) {
                e.accept(new StackSample(new ThreadStack(pid, pid, 1, "MainThread", 0, ThreadState.RUNNING, null,
                        List.of(Frame.python("busy_work", "busy_work", "/app/pool.py", 3))), t += 1_000_000, 1_000_000));
            }
        }
        e.close();
    }

    private static String label(long pid) {
        return "process " + pid + " (" + ThreadRoots.shortCommand(ProcessTree.commandLine(pid, 4096)) + ")";
    }

    @Test
    void collapsedStartsEachLineWithItsProcessAndCommand() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().build(out), ME, PARENT);
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).containsExactlyInAnyOrder(
                label(ME).replace(';', '_') + ";thread " + ME + " (MainThread);busy_work (/app/pool.py:3) 3",
                label(PARENT).replace(';', '_') + ";thread " + PARENT + " (MainThread);busy_work (/app/pool.py:3) 3");
        assertThat(label(ME)).contains("java");

        ByteArrayOutputStream one = new ByteArrayOutputStream();
        feed(CollapsedExporter.builder().build(one), ME);
        assertThat(one.toString(StandardCharsets.UTF_8)).startsWith("process " + ME + ";thread ");
    }

    @Test
    void pprofLabelsEachSampleWithItsPid() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(PprofExporter.builder().build(out), ME, PARENT);
        var p = PprofExporterTest.decode(out.toByteArray());
        List<String> pids = new ArrayList<>();
        p.getSampleList().forEach(s -> pids.add(PprofExporterTest.label(p, s, "pid")));
        assertThat(pids).containsExactlyInAnyOrder(Long.toString(ME), Long.toString(PARENT));
    }

    @Test
    void speedscopeHasAProfilePerProcessAndThread() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(SpeedscopeExporter.builder().build(out), ME, PARENT);
        JsonNode doc = new ObjectMapper().readTree(out.toByteArray());
        List<String> names = new ArrayList<>();
        doc.get("profiles").forEach(n -> names.add(n.get("name").asText()));
        assertThat(names).containsExactlyInAnyOrder(label(ME) + " thread " + ME + " (MainThread)",
                label(PARENT) + " thread " + PARENT + " (MainThread)");
    }
}
