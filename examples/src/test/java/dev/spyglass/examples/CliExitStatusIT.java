package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cli;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static dev.spyglass.examples.SpyglassCliIT.someInterpreter;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;

/** Review findings on the CLI: each test fails on the code it was written against. */
class CliExitStatusIT {

    @TempDir
    Path dir;

    /**
     * docs/cli.md: "launch a command ...; its exit status becomes spyglass's when it fails". A Python that fails at
     * once (a mistyped script path: python exits 2) makes spyglass exit 6, "the process is gone".
     */
    @Test
    void aLaunchedPythonThatFailsAtOnceGivesItsOwnExitStatus() throws Exception {
        PythonInterpreter py = someInterpreter();
        List<String> cmd = new ArrayList<>(cli("record", "-o", dir.resolve("f.html").toString(), "--"));
        cmd.addAll(py.commandLine(dir.resolve("no-such-script.py").toString()));
        Result r = run(cmd, py.environment(), 60);

        assertThat(r.exit()).as(r.err()).isEqualTo(2);
    }

    /**
     * An output path that cannot be written is found only after the target was launched, and the launched
     * target is then left running on its own.
     */
    @Test
    void anUnwritableOutputDoesNotLeaveALaunchedTargetRunning() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path pidFile = dir.resolve("pid");
        Path script = dir.resolve("long.py");
        Files.writeString(script, "import os, time\nopen(" + pyString(pidFile) + ", 'w').write(str(os.getpid()))\n"
                + "time.sleep(30)\n");
        List<String> cmd = new ArrayList<>(cli("record", "-o", dir.resolve("no/such/dir/x.html").toString(), "--"));
        cmd.addAll(py.commandLine(script.toString()));
        Result r = run(cmd, py.environment(), 60);
        Thread.sleep(500);
        Optional<ProcessHandle> target = Files.exists(pidFile)
                ? ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())) : Optional.empty();
        try {
            assertThat(r.exit()).as(r.err()).isNotZero();
            assertThat(target.filter(ProcessHandle::isAlive)).as("launched target still running after: " + r.err())
                    .isEmpty();
        } finally {
            target.ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** A bad --rows is a bad command line (status 2, one line), not a stack trace with status 1. */
    @Test
    void aNegativeRowCountIsAUsageError() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path script = dir.resolve("busy.py");
        Files.writeString(script, "import time\nend = time.time() + 2\nwhile time.time() < end:\n    sum(range(1000))\n");
        List<String> cmd = new ArrayList<>(cli("top", "--rows", "-1", "--"));
        cmd.addAll(py.commandLine(script.toString()));
        Result r = run(cmd, py.environment(), 60);

        assertThat(r.err()).doesNotContain("Exception");
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
    }

    /** docs/cli.md: status 2 is a bad command line. "-p 0" and "-p -5" exit with 1. */
    @Test
    void aNonPositivePidIsAUsageError() throws Exception {
        for (String command : List.of("record", "dump", "top")) {
            Result r = run(cli(command, "-p", "0"), 60);
            assertThat(r.exit()).as(command + ": " + r.err()).isEqualTo(2);
        }
    }

    private static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
