package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.someInterpreter;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code record} writes beside the output file and renames on completion (issue 10, "Files and terminals"):
 * a previous profile survives a recording in progress and a killed CLI.
 */
class AtomicOutputIT {

    static final String OLD = "previous profile\n";

    @TempDir
    Path dir;
    Path script;
    Process target;

    @BeforeEach
    void startTarget() throws Exception {
        script = dir.resolve("hot.py");
        Files.writeString(script, SpyglassCliIT.SCRIPT);
        PythonInterpreter py = someInterpreter();
        target = py.processBuilder(script.toString(), "60").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Thread.sleep(400);
    }

    @AfterEach
    void stopTarget() throws InterruptedException {
        target.destroyForcibly().waitFor();
    }

    /** Starts {@code record -p target} and returns once it says it is recording. */
    private Process startRecording(Path out, Path err, String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("record", "-p", Long.toString(target.pid()), "-o",
                out.toString()));
        args.addAll(List.of(extra));
        Process cli = new ProcessBuilder(cli(args.toArray(String[]::new))).redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(err).contains("recording process") && System.nanoTime() < deadline) {
            assertThat(cli.isAlive()).as(Files.readString(err)).isTrue();
            Thread.sleep(100);
        }
        assertThat(Files.readString(err)).contains("recording process");
        return cli;
    }

    private List<Path> temporaryFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().contains(".spyglass-tmp-")).toList();
        }
    }

    @Test
    void anExistingFileKeepsItsContentWhileRecordingAndGetsTheNewProfileAtTheEnd() throws Exception {
        Path out = dir.resolve("profile.collapsed");
        Files.writeString(out, OLD);
        Path err = dir.resolve("err.txt");
        Process cli = startRecording(out, err, "-d", "3");

        Thread.sleep(500);
        assertThat(Files.readString(out)).as("during the recording").isEqualTo(OLD);
        assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(cli.exitValue()).as(Files.readString(err)).isZero();
        assertThat(Files.readString(out)).contains("hot_leaf");
        assertThat(temporaryFiles()).isEmpty();
    }

    /**
     * SIGKILL runs no shutdown hook, so the hidden temporary file ({@code .profile.collapsed.spyglass-tmp-PID})
     * may stay behind; the file the user named is untouched.
     */
    @Test
    void aKilledCliLeavesThePreviousFileUntouched() throws Exception {
        Path out = dir.resolve("profile.collapsed");
        Files.writeString(out, OLD);
        Process cli = startRecording(out, dir.resolve("err.txt"));
        Thread.sleep(500);

        cli.destroyForcibly();
        assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(Files.readString(out)).isEqualTo(OLD);
    }

    @Test
    void aKilledCliLeavesNoEmptyFileWhereThereWasNone() throws Exception {
        Path out = dir.resolve("new.html");
        Process cli = startRecording(out, dir.resolve("err.txt"));
        Thread.sleep(500);

        cli.destroyForcibly();
        assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(out).doesNotExist();
    }

    /** SIGTERM takes the shutdown path: the recording so far is written and no temporary file remains. */
    @Test
    void sigtermWritesTheProfileAndLeavesNoTemporaryFile() throws Exception {
        Path out = dir.resolve("profile.collapsed");
        Files.writeString(out, OLD);
        Path err = dir.resolve("err.txt");
        Process cli = startRecording(out, err);
        Thread.sleep(1000);

        cli.destroy();
        assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(Files.readString(out)).as(Files.readString(err)).contains("hot_leaf");
        assertThat(temporaryFiles()).isEmpty();
    }
}
