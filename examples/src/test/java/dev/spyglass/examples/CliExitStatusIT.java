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
import java.util.concurrent.TimeUnit;

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

    /** docs/cli.md: status 2 is a bad command line, "-p 0" and "-p -5" among them (leaks gave 6, "gone"). */
    @Test
    void aNonPositivePidIsAUsageError() throws Exception {
        for (String command : List.of("record", "dump", "top", "leaks")) {
            for (String pid : List.of("0", "-5")) {
                Result r = run(cli(command, "-p", pid), 60);
                assertThat(r.exit()).as(command + " -p " + pid + ": " + r.err()).isEqualTo(2);
                assertThat(r.err()).contains("-p must be a process id (> 0), not " + pid);
            }
        }
    }

    /**
     * Issue 18: the probe commands' bad command lines are status 2 with one line, before the process is looked at
     * (PID 1 is there): both --function and --address, --count 0, --max-rate 0; and -p 0 / -p -5 as record, dump and
     * top (they were 6, "the process is gone").
     */
    @Test
    void theProbeCommandsRefuseABadCommandLine() throws Exception {
        record Case(List<String> args, String message) {
        }
        List<Case> cases = List.of(
                new Case(List.of("latency", "-p", "1", "--function", "f", "--address", "0x1000"),
                        "spyglass: give --function SYMBOL or --address ADDR (one of them)"),
                new Case(List.of("latency", "-p", "1", "--function", "f", "--max-rate", "0"),
                        "spyglass: --max-rate must be positive"),
                new Case(List.of("trace", "-p", "1", "--trigger", "f", "--count", "0"),
                        "spyglass: --count and --max-rate must be positive"),
                new Case(List.of("trace", "-p", "1", "--trigger", "f", "--max-rate", "0"),
                        "spyglass: --count and --max-rate must be positive"),
                new Case(List.of("latency", "-p", "0", "--function", "f"),
                        "spyglass latency: -p must be a process id (> 0), not 0"),
                new Case(List.of("latency", "-p", "-5", "--function", "f"),
                        "spyglass latency: -p must be a process id (> 0), not -5"),
                new Case(List.of("trace", "-p", "0", "--trigger", "f"),
                        "spyglass trace: -p must be a process id (> 0), not 0"),
                new Case(List.of("trace", "-p", "-5", "--trigger", "f"),
                        "spyglass trace: -p must be a process id (> 0), not -5"));
        for (Case c : cases) {
            Result r = run(cli(c.args().toArray(String[]::new)), 60);
            assertThat(r.exit()).as(c.args() + ": " + r.err()).isEqualTo(Failures.USAGE);
            assertThat(r.err().lines()).as(c.args().toString()).containsExactly(c.message());
        }
    }

    /**
     * Issue 18: more than 100 functions for trace is one usage error (2), whether a glob or a library gave them (a
     * glob matching over 100 in one object was 12, "not found"). Refused before any probe is placed.
     */
    @Test
    void tooManyFunctionsToTraceIsOneUsageErrorHoweverMatched() throws Exception {
        PythonInterpreter py = someInterpreter();
        Process target = py.processBuilder("-c", "import time\nwhile True: time.sleep(0.01)")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            String pid = Long.toString(target.pid());
            for (List<String> functions : List.of(List.of("--functions", "*", "--library", "libc.so"),
                    List.of("--functions", "libc.so.6"))) {
                List<String> args = new ArrayList<>(List.of("trace", "-p", pid, "--trigger", "malloc"));
                args.addAll(functions);
                Result r = run(cli(args.toArray(String[]::new)), 60);
                assertThat(r.exit()).as(functions + ": " + r.err()).isEqualTo(Failures.USAGE);
                assertThat(r.err()).as(functions.toString()).containsPattern("spyglass: --functions .* gives [0-9]+"
                        + " functions to probe, more than 100 \\(each is two probes per thread\\)");
            }
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Issue 18: the overhead per probed call, measured in a benchmark, is stated in both probe commands' help. */
    @Test
    void theProbeCommandsHelpStatesTheMeasuredCostPerCall() throws Exception {
        for (String command : List.of("trace", "latency")) {
            Result r = run(cli(command, "--help"), 60);
            assertThat(r.exit()).as(r.err()).isZero();
            // picocli wraps the description, even inside "latency-cost.sh": compared without any whitespace
            assertThat(r.out().replaceAll("\\s+", "")).as(command + " --help: " + r.out())
                    .contains(LatencyCommand.COST.replaceAll("\\s+", ""));
        }
    }

    /**
     * Issue 18: a target killed while latency (-d 30s) or trace (waiting for --count 1000) probes it ends the run
     * at once with status 9 and one line saying so; trace's file is still written.
     */
    @Test
    void aTargetKilledWhileProbedEndsTheRunWithStatus9() throws Exception {
        PythonInterpreter py = someInterpreter();
        org.junit.jupiter.api.Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "spytick", String.join("\n",
                "__attribute__((noinline)) void spy_tick(void) { __asm__ volatile(\"\"); }", ""));
        Path script = dir.resolve("tick.py");
        Files.writeString(script, String.join("\n", "import ctypes, sys, time", "lib = ctypes.CDLL(sys.argv[1])",
                "sys.stdout.write('ready\\n'); sys.stdout.flush()", "while True:", "    lib.spy_tick()",
                "    time.sleep(0.05)", ""));
        Path tree = dir.resolve("tree.txt");
        record Case(List<String> args, String said) {
        }
        for (Case c : List.of(new Case(List.of("latency", "--function", "spy_tick", "-d", "30s"),
                        "ended before the run did; the report holds what was seen"),
                new Case(List.of("trace", "--trigger", "spy_tick", "--count", "1000", "-d", "60s", "-o",
                        tree.toString()), "ended before the trace did; the output holds the executions complete until then"))) {
            Process target = py.processBuilder(script.toString(), lib.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Path err = dir.resolve(c.args().get(0) + ".err");
            List<String> args = new ArrayList<>(List.of(c.args().get(0), "-p", Long.toString(target.pid())));
            args.addAll(c.args().subList(1, c.args().size()));
            Process probing = null;
            try {
                UprobeTargets.awaitReady(py, target);
                probing = new ProcessBuilder(cli(args.toArray(String[]::new)))
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
                for (int i = 0; i < 6000 && !(Files.exists(err) && Files.readString(err).contains("probes on")); i++) {
                    Thread.sleep(10);
                }
                assertThat(Files.readString(err)).as(args.toString()).contains("probes on");
                Thread.sleep(500);
                target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                long killed = System.nanoTime();
                assertThat(probing.waitFor(20, TimeUnit.SECONDS)).as(args + " ended").isTrue();
                System.out.printf("%s ended %d ms after its target was killed: %s%n", args.get(0),
                        (System.nanoTime() - killed) / 1_000_000, Files.readString(err));
                assertThat(probing.exitValue()).as(args + ": " + Files.readString(err)).isEqualTo(Failures.TARGET_ENDED);
                assertThat(Files.readString(err)).contains("spyglass: process " + target.pid() + " " + c.said());
            } finally {
                if (probing != null) {
                    probing.destroyForcibly();
                }
                target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        assertThat(tree).as("trace wrote what it had").exists();
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
