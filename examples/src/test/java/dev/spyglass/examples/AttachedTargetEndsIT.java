package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.JSON;
import static dev.spyglass.examples.SpyglassCliIT.cli;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * An attached target that exits or {@code exec}s while {@code record -p PID -d 30s} records it: one line
 * saying so, the file written with what was recorded, exit status 9 (docs/cli.md), and no sample of the
 * program that replaced it.
 */
@Execution(ExecutionMode.CONCURRENT) // its cases wait for a CLI JVM and a sleeping target
class AttachedTargetEndsIT {

    /** Waits in first_program_function until the flag file exists, then exits or execs sys.argv[2:]. */
    private static final String TARGET = String.join("\n",
            "import sys, os, time",
            "def first_program_function(flag):",
            "    while not os.path.exists(flag):",
            "        time.sleep(0.005)",
            "first_program_function(sys.argv[1])",
            "if len(sys.argv) > 2:",
            "    os.execv(sys.argv[2], sys.argv[2:])",
            "");

    private static final String REPLACEMENT = String.join("\n",
            "import time",
            "def replacement_program_function():",
            "    end = time.time() + 30",
            "    while time.time() < end:",
            "        time.sleep(0.005)",
            "replacement_program_function()",
            "");

    @TempDir
    Path dir;

    @ForEachPython
    void anAttachedTargetThatExitsMidRecordingEndsItWithStatus9On(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Ended r = recordUntilTheTargetChanges(py, List.of());
        assertThat(r.exit).as(r.err).isEqualTo(9);
        assertThat(r.err).containsPattern("spyglass: process " + r.pid
                + " exited after [0-9]+\\.[0-9] s; the profile holds what was recorded\n");
        assertThat(r.err).doesNotContain("cannot read");
        assertThat(r.functions).contains("first_program_function");
    }

    @ForEachPython
    void anAttachedTargetThatExecsTheSamePythonEndsTheRecordingOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path replacement = dir.resolve("replacement.py");
        Files.writeString(replacement, REPLACEMENT);
        Ended r = recordUntilTheTargetChanges(py, py.commandLine(replacement.toString()));
        assertExecEnded(r);
    }

    @ForEachPython
    void anAttachedTargetThatExecsSleepEndsTheRecordingOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Ended r = recordUntilTheTargetChanges(py, List.of("/bin/sleep", "30"));
        assertExecEnded(r);
    }

    private static void assertExecEnded(Ended r) {
        assertThat(r.exit).as(r.err).isEqualTo(9);
        assertThat(r.err).containsPattern("spyglass: process " + r.pid
                + " replaced its program \\(exec\\) after [0-9]+\\.[0-9] s; the profile holds what was recorded\n");
        assertThat(r.err).doesNotContain("cannot read");
        assertThat(r.functions).contains("first_program_function").doesNotContain("replacement_program_function");
    }

    private record Ended(long pid, int exit, String err, Set<String> functions) {
    }

    /**
     * Starts the target, records it with {@code -d 30s} into a JSON lines file, lets it exit (or exec
     * {@code exec}) once the CLI says it is recording, and returns what the CLI said and recorded.
     */
    private Ended recordUntilTheTargetChanges(PythonInterpreter py, List<String> exec) throws Exception {
        Path script = dir.resolve("target.py");
        Files.writeString(script, TARGET);
        Path flag = dir.resolve("flag");
        List<String> args = new ArrayList<>(List.of(script.toString(), flag.toString()));
        args.addAll(exec);
        Process target = py.processBuilder(args.toArray(String[]::new)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Path out = dir.resolve("p.jsonl");
        Path err = dir.resolve("cli.err");
        Process cli = null;
        try {
            Thread.sleep(300);
            cli = new ProcessBuilder(cli("record", "-p", Long.toString(target.pid()), "-d", "30s", "-o", out.toString()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            for (int i = 0; i < 3000 && !(Files.exists(err) && Files.readString(err).contains("recording process")); i++) {
                Thread.sleep(10);
            }
            assertThat(Files.readString(err)).as("the CLI started recording").contains("recording process");
            Thread.sleep(300); // some samples of the first program
            Files.writeString(flag, "go");
            assertThat(cli.waitFor(25, TimeUnit.SECONDS)).as("record ends well before -d 30s").isTrue();
            return new Ended(target.pid(), cli.exitValue(), Files.readString(err), functions(out));
        } finally {
            if (cli != null) {
                cli.destroyForcibly();
            }
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static Set<String> functions(Path jsonl) throws IOException {
        Set<String> names = new HashSet<>();
        for (String line : Files.readAllLines(jsonl)) {
            JsonNode sample = JSON.readTree(line);
            if (sample.has("type")) {
                continue; // the header and end lines
            }
            for (JsonNode f : sample.get("frames")) {
                names.add(f.get("function").asText());
            }
        }
        return names;
    }
}
