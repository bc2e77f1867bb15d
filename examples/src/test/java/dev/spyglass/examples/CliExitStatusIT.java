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

    /** A format nobody provides is a bad command line whose message lists the formats there are, a user's too. */
    @Test
    void anUnknownFormatIsAUsageErrorListingTheInstalledFormats() throws Exception {
        Result byName = run(cli("record", "-f", "svg", "-p", "1"), 60);
        assertThat(byName.exit()).as(byName.err()).isEqualTo(2);
        assertThat(byName.err().lines()).containsExactly(
                "spyglass record: unknown format 'svg' (html, speedscope, pprof, collapsed, austin, mojo, jsonl, "
                        + "gecko, chrome, sgr, top-csv)");

        Result byEnding = run(cli("record", "-o", dir.resolve("p.svg").toString(), "-p", "1"), 60);
        assertThat(byEnding.exit()).as(byEnding.err()).isEqualTo(2);
        assertThat(byEnding.err().lines()).singleElement().asString()
                .startsWith("spyglass record: cannot tell the format from 'p.svg': use -f or one of .html ")
                .contains(" .pb.gz ", " .jsonl ", " .top.csv ");
    }

    /** A format's own option with a value it refuses is a usage error, and a launched target is not left running. */
    @Test
    void aRefusedFormatOptionIsAUsageError() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path script = dir.resolve("busy.py");
        Files.writeString(script,
                "import time\nend = time.time() + 20\nwhile time.time() < end:\n    sum(range(1000))\n");
        List<String> cmd = new ArrayList<>(cli("record", "-f", "top-csv", "--format-option", "top-csv.limit=many",
                "-o", dir.resolve("top.csv").toString(), "--"));
        cmd.addAll(py.commandLine(script.toString()));
        long started = System.nanoTime();
        Result r = run(cmd, py.environment(), 60);

        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("spyglass record: top-csv.limit must be a whole number, not 'many'")
                .doesNotContain("Exception");
        assertThat(System.nanoTime() - started).as("returns without waiting for the 20 s target")
                .isLessThan(15_000_000_000L);
    }

    /** Issue 10: an option error names the option ("-i 0" said only "'0' must be more than zero"). */
    @Test
    void anOptionErrorNamesTheOption() throws Exception {
        record Case(List<String> args, String message) {
        }
        List<Case> cases = List.of(
                new Case(List.of("record", "-i", "0", "-p", "1"),
                        "spyglass record: --interval must be more than zero (got 0)"),
                new Case(List.of("record", "-d", "0", "-p", "1"),
                        "spyglass record: --duration must be more than zero (got 0)"),
                new Case(List.of("record", "--interval", "0ms", "-p", "1"),
                        "spyglass record: --interval must be more than zero (got 0ms)"),
                new Case(List.of("top", "-i", "0", "-p", "1"),
                        "spyglass top: --interval must be more than zero (got 0)"),
                new Case(List.of("record", "-d", "soon", "-p", "1"),
                        "spyglass record: --duration: 'soon' is not a duration (examples: 100us, 1ms, 0.5s, 2m)"));
        for (Case c : cases) {
            Result r = run(cli(c.args().toArray(String[]::new)), 60);
            assertThat(r.exit()).as(c.args() + ": " + r.err()).isEqualTo(2);
            assertThat(r.err().lines()).as(c.args().toString()).containsExactly(c.message());
        }
    }

    /** Issue 10: "spyglass" alone listed only "help"; it is a usage error answered with the --help text. */
    @Test
    void noArgumentsListsTheCommands() throws Exception {
        Result none = run(cli(), 60);
        Result help = run(cli("--help"), 60);

        assertThat(none.exit()).as(none.err()).isEqualTo(2);
        assertThat(none.err()).startsWith("Usage: spyglass ");
        assertThat(none.err().lines().map(String::strip))
                .anySatisfy(l -> assertThat(l).startsWith("record ").contains("Samples a Python process"))
                .anySatisfy(l -> assertThat(l).startsWith("dump "))
                .anySatisfy(l -> assertThat(l).startsWith("top "));
        assertThat(help.exit()).isZero();
        assertThat(help.out()).isEqualTo(none.err());
    }

    /** Issue 10: a missing program fails as in a shell, status 127, for record and top. */
    @Test
    void aMissingCommandExits127LikeAShell() throws Exception {
        for (String command : List.of("record", "top")) {
            Result r = run(cli(command, "--", "no-such-program-spyglass", "x"), 60);
            assertThat(r.exit()).as(command + ": " + r.err()).isEqualTo(127);
            assertThat(r.err().lines()).as(command)
                    .containsExactly("spyglass: no-such-program-spyglass: command not found");
        }
        Path missing = dir.resolve("nowhere/prog");
        Result byPath = run(cli("record", "--", missing.toString()), 60);
        assertThat(byPath.exit()).as(byPath.err()).isEqualTo(127);
        assertThat(byPath.err().lines()).containsExactly("spyglass: " + missing + ": no such file or directory");
    }

    /** Issue 10: a program that is there but cannot be executed fails as in a shell, status 126. */
    @Test
    void aCommandThatIsNotExecutableExits126() throws Exception {
        Path script = dir.resolve("not-executable.sh");
        Files.writeString(script, "#!/bin/sh\nexit 0\n");
        Result r = run(cli("record", "-o", dir.resolve("f.html").toString(), "--", script.toString()), 60);
        assertThat(r.exit()).as(r.err()).isEqualTo(126);
        assertThat(r.err().lines()).containsExactly("spyglass: " + script + ": permission denied");
        assertThat(dir.resolve("f.html")).doesNotExist();
    }

    /**
     * Issue 10: a launched target that ends before the first sample made spyglass exit 0 with no file. Now: status 8,
     * one line saying so, and a valid empty profile in the file asked for.
     */
    @Test
    void aTargetThatEndsBeforeTheFirstSampleExits8WithAnEmptyProfile() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path out = dir.resolve("empty.json");
        // A launched Python is now held stopped until the sampler ticks, so even "python -c pass" is sampled while
        // it starts: a command that ends before it starts a Python is what ends before the first sample.
        List<String> cmd = new ArrayList<>(cli("record", "-o", out.toString(), "--", "/bin/sh", "-c",
                "exit 0; " + String.join(" ", py.commandLine("-c", "pass"))));
        Result r = run(cmd, py.environment(), 60);

        assertThat(r.exit()).as(r.err()).isEqualTo(8);
        assertThat(r.err()).contains("spyglass: no samples recorded: ");
        assertThat(out).as(r.err()).exists();
        assertThat(SpyglassCliIT.JSON.readTree(out.toFile()).get("$schema").asText()).contains("speedscope");
    }

    private static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
