package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/** The real CLI jar against real interpreters: record (launch and attach), dump, top, errors. */
class SpyglassCliIT {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Runs for argv[1] seconds: the main thread spends its time in hot_leaf, a second thread sleeps. */
    static final String SCRIPT = String.join("\n",
            "import sys, threading, time",
            "def hot_leaf(n):",
            "    s = 0",
            "    for i in range(n):",
            "        s += (i * i) % 7 + (i >> 1) * 3",
            "    return s",
            "def driver(deadline):",
            "    while time.time() < deadline:",
            "        hot_leaf(20000)",
            "def napper(deadline):",
            "    while time.time() < deadline:",
            "        time.sleep(0.01)",
            "deadline = time.time() + float(sys.argv[1])",
            "t = threading.Thread(target=napper, args=(deadline,), name='napper')",
            "t.start()",
            "driver(deadline)",
            "t.join()",
            "");

    @TempDir
    Path dir;
    Path script;

    record Result(int exit, String out, String err) {
    }

    @BeforeEach
    void writeScript() throws IOException {
        script = dir.resolve("hot.py");
        Files.writeString(script, SCRIPT);
    }

    static Path cliJar() {
        Path jar = Path.of(System.getProperty("spyglass.cliJar", "target/spyglass-cli.jar"));
        assertThat(jar).as("the shaded CLI jar (built by `package`)").exists();
        return jar;
    }

    static List<String> cli(String... args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-jar",
                cliJar().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Result run(List<String> cmd, int timeoutSeconds) throws Exception {
        return run(cmd, java.util.Map.of(), timeoutSeconds);
    }

    /** Runs with extra environment variables (a launched target inherits them: the interpreter's own). */
    static Result run(List<String> cmd, java.util.Map<String, String> env, int timeoutSeconds) throws Exception {
        Path out = Files.createTempFile("spyglass-cli", ".out");
        Path err = Files.createTempFile("spyglass-cli", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("did not finish in " + timeoutSeconds + " s: " + cmd + "\n"
                    + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    static PythonInterpreter someInterpreter() {
        return PythonInterpreters.assumeAny(3, 11);
    }

    /** Starts the script in the background (stdout discarded) and waits until it runs Python code. */
    Process startTarget(PythonInterpreter py, String seconds) throws Exception {
        Process p = py.processBuilder(script.toString(), seconds).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Thread.sleep(400);
        return p;
    }

    static String collapsedHottest(Path file) throws IOException {
        return collapsedHottest(file, "");
    }

    /** The stack with the most samples among the lines that start with {@code prefix}. */
    static String collapsedHottest(Path file, String prefix) throws IOException {
        String best = "";
        long bestN = -1;
        for (String line : Files.readAllLines(file)) {
            if (!line.startsWith(prefix)) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            long n = Long.parseLong(line.substring(space + 1));
            if (n > bestN) {
                bestN = n;
                best = line.substring(0, space);
            }
        }
        return best;
    }

    @Test
    void recordLaunchesACommandAndInfersEveryFormatFromTheExtension() throws Exception {
        PythonInterpreter py = someInterpreter();
        for (String name : List.of("p.html", "p.json", "p.pb.gz", "p.txt", "p.austin", "p.jsonl")) {
            Path out = dir.resolve(name);
            // The hottest-line check below runs in CPU mode: in wall mode, time the main thread spends
            // waiting to take the GIL back from the napper (long on a loaded machine) lands on the loop
            // header, line 4, and can outweigh line 5.
            List<String> cmd = new ArrayList<>(cli("record", "-i", "1ms", "-o", out.toString()));
            if (name.equals("p.txt")) {
                cmd.add("--mode=cpu");
            }
            cmd.add("--");
            // 2.5 s: attaching to a starting interpreter takes up to a second on a loaded machine
            cmd.addAll(py.commandLine(script.toString(), "2.5"));
            Result r = run(cmd, py.environment(), 60);

            assertThat(r.exit()).as("exit of %s: %s", name, r.err()).isZero();
            assertThat(r.err()).contains("spyglass: wrote ").contains(out.toAbsolutePath().toString())
                    .containsPattern("[0-9,]+ samples in ");
            assertThat(out).exists();
            byte[] bytes = Files.readAllBytes(out);
            String text = new String(bytes, StandardCharsets.UTF_8);
            switch (name) {
                case "p.html" -> assertThat(text).startsWith("<!DOCTYPE html>").contains("hot_leaf")
                        .contains("\"python\":\"" + py.version());
                case "p.json" -> assertThat(JSON.readTree(bytes).get("$schema").asText())
                        .isEqualTo("https://www.speedscope.app/file-format-schema.json");
                case "p.pb.gz" -> {
                    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
                        assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).contains("hot_leaf");
                    }
                }
                case "p.collapsed", "p.txt" -> assertThat(collapsedHottest(out)).endsWith(";driver (" + script
                        + ":9);hot_leaf (" + script + ":5)").doesNotEndWith("(" + script + ":4)");
                case "p.austin" -> assertThat(text).startsWith("# austin: ").contains(":hot_leaf:");
                case "p.jsonl" -> {
                    // the header line, then samples
                    List<String> lines = text.lines().toList();
                    assertThat(JSON.readTree(lines.get(0)).get("type").asText()).isEqualTo("recording");
                    assertThat(JSON.readTree(lines.get(1)).has("frames")).isTrue();
                }
                default -> throw new AssertionError(name);
            }
        }
    }

    /** The example of a user's format (TopFunctionsCsvExporter) is chosen like the built-in ones. */
    @Test
    void recordWritesThroughAUsersExporterChosenByNameOrByEnding() throws Exception {
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "15");
        try {
            String pid = Long.toString(target.pid());
            // CPU mode: in wall mode the sleeping napper thread's own samples could outnumber hot_leaf's.
            Path byName = dir.resolve("by-name.out");
            Result named = run(cli("record", "-f", "top-csv", "--format-option", "top-csv.limit=3", "--mode=cpu",
                    "-d", "1", "-p", pid, "-o", byName.toString()), 60);
            assertThat(named.exit()).as(named.err()).isZero();
            assertThat(named.err()).contains("spyglass: wrote top-csv profile to " + byName.toAbsolutePath());
            List<String> rows = Files.readAllLines(byName);
            assertThat(rows.get(0)).isEqualTo("function,file,own_samples,total_samples,own_percent,total_percent");
            assertThat(rows.get(1)).startsWith("hot_leaf," + script + ",");
            assertThat(rows).hasSizeBetween(2, 4);

            Path byEnding = dir.resolve("top.csv");
            Result ended = run(cli("record", "--mode=cpu", "-d", "1", "-p", pid, "-o", byEnding.toString()), 60);
            assertThat(ended.exit()).as(ended.err()).isZero();
            assertThat(ended.err()).contains("spyglass: wrote top-csv profile to " + byEnding.toAbsolutePath());
            assertThat(Files.readAllLines(byEnding)).first().isEqualTo(rows.get(0));
            assertThat(Files.readAllLines(byEnding)).hasSizeBetween(2, 21).anySatisfy(
                    row -> assertThat(row).startsWith("hot_leaf," + script + ","));
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @ForEachPython
    void recordAttachesByPidForAGivenDurationOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Process target = startTarget(py, "60"); // outlives a slow CLI start on a loaded machine; killed below
        try {
            Path out = dir.resolve("attached.collapsed");
            Result r = run(cli("record", "-p", Long.toString(target.pid()), "-d", "1", "--no-lines", "-o",
                    out.toString()), 60);

            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(target.isAlive()).as("the target keeps running").isTrue();
            // the main thread's (TID = PID) hottest stack; its name depends on the version (threading's, or the
            // kernel's). Of the main thread's lines only: in wall mode on a loaded machine (once, in a suite run)
            // the napper, woken holding the GIL but waiting for a CPU, outweighed the main thread waiting for it.
            assertThat(collapsedHottest(out, "process " + target.pid() + ";thread " + target.pid() + " ("))
                    .as("%s%s", Files.readString(out), r.err()).matches(java.util.regex.Pattern.quote("process " + target.pid()
                    + ";thread " + target.pid() + " (") + "[^)]*" + java.util.regex.Pattern.quote(");<module> ("
                    + script + ");driver (" + script + ");hot_leaf (" + script + ")"));
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void oneMicrosecondMeansAsFastAsPossibleAndABareNumberIsMicroseconds() throws Exception {
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "15");
        try {
            Result fastest = run(cli("record", "-i", "1us", "-d", "0.5", "-p", Long.toString(target.pid()), "-o",
                    dir.resolve("fast.austin").toString()), 60);
            assertThat(fastest.exit()).as(fastest.err()).isZero();
            assertThat(fastest.err()).contains("every 10 us for 500.0 ms");
            assertThat(Files.readString(dir.resolve("fast.austin"))).contains("# interval: 10\n");

            Result bare = run(cli("record", "-i", "250", "-d", "1", "-p", Long.toString(target.pid()), "-o",
                    dir.resolve("bare.austin").toString()), 60);
            assertThat(bare.exit()).as(bare.err()).isZero();
            assertThat(bare.err()).contains("every 250 us for 1.00 s");
            assertThat(Files.readString(dir.resolve("bare.austin"))).contains("# interval: 250\n");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void ctrlCStopsRecordingAndStillWritesAValidFile() throws Exception {
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "30");
        Path out = dir.resolve("interrupted.json");
        Path err = dir.resolve("err.txt");
        try {
            Process cli = new ProcessBuilder(cli("record", "-p", Long.toString(target.pid()), "-o", out.toString()))
                    .redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.readString(err).contains("recording process") && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            Thread.sleep(1000);
            // A command started in the background without job control inherits SIGINT ignored, and the JVM
            // then installs no handler (so Ctrl-C could not reach it either): nothing to test there.
            assumeFalse(sigintIgnored(cli.pid()), "SIGINT is ignored in this environment (the suite was started "
                    + "in the background without job control)");
            new ProcessBuilder("kill", "-INT", Long.toString(cli.pid())).start().waitFor();
            assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();

            assertThat(cli.exitValue()).as(Files.readString(err)).isEqualTo(130);
            assertThat(Files.readString(err)).contains("(interrupted)").contains("wrote speedscope profile");
            JsonNode profile = JSON.readTree(out.toFile());
            assertThat(profile.get("shared").get("frames").toString()).contains("hot_leaf");
            assertThat(target.isAlive()).isTrue();
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    /** Whether {@code pid} ignores SIGINT: bit 1 of {@code SigIgn} in {@code /proc/PID/status}. */
    private static boolean sigintIgnored(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 0x2) != 0;
            }
        }
        return false;
    }

    @Test
    void aFailingLaunchedTargetsExitStatusBecomesTheCommands() throws Exception {
        PythonInterpreter py = someInterpreter();
        Path failing = dir.resolve("fail.py");
        Files.writeString(failing, "import sys, time\ntime.sleep(2)\nsys.exit(3)\n");
        List<String> cmd = new ArrayList<>(cli("record", "-o", dir.resolve("f.html").toString(), "--"));
        cmd.addAll(py.commandLine(failing.toString()));
        Result r = run(cmd, py.environment(), 60);

        assertThat(r.exit()).as(r.err()).isEqualTo(3);
        assertThat(r.err()).contains("exited with status 3");
        assertThat(dir.resolve("f.html")).exists();
    }

    @Test
    void errorsAreOneClearLineAndANonZeroStatus() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "30").start();
        try {
            Result notPython = run(cli("record", "-p", Long.toString(sleep.pid()), "-d", "1", "-o",
                    dir.resolve("x.html").toString()), 60);
            assertThat(notPython.exit()).isEqualTo(3);
            assertThat(notPython.err().lines()).hasSize(1).allSatisfy(l -> assertThat(l).startsWith("spyglass: ")
                    .containsIgnoringCase("python"));
        } finally {
            sleep.destroyForcibly().waitFor();
        }

        Process done = new ProcessBuilder("true").start();
        done.waitFor();
        Result gone = run(cli("dump", "-p", Long.toString(done.pid())), 60);
        assertThat(gone.exit()).isEqualTo(6);
        assertThat(gone.err().lines()).hasSize(1).allSatisfy(l -> assertThat(l).startsWith("spyglass: "));

        Result usage = run(cli("record", "-i", "fast", "-p", "1"), 60);
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("'fast' is not a duration");
    }

    @Test
    void permissionDeniedSaysWhatToDo() throws Exception {
        assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false),
                "needs root to run the CLI as another user");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "20");
        try {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups"));
            cmd.addAll(cli("dump", "-p", Long.toString(target.pid())));
            Result r = run(cmd, 60);

            assertThat(r.exit()).as(r.err()).isEqualTo(5);
            assertThat(r.err().lines()).hasSize(1).allSatisfy(l -> assertThat(l).startsWith("spyglass: ")
                    .contains("not allowed").contains("CAP_SYS_PTRACE").contains("same user"));
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @ForEachPython
    void dumpShowsEveryThreadsStackOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // Two CLI JVMs start one after the other: on a loaded machine that takes longer than 8 s.
        Process target = startTarget(py, "60");
        try {
            Result text = run(cli("dump", "-p", Long.toString(target.pid())), 60);
            assertThat(text.exit()).as(text.err()).isZero();
            assertThat(text.out()).startsWith("Process " + target.pid() + ": ").contains("Python " + py.version())
                    .containsPattern("Thread " + target.pid() + " \"[^\"]+\" (running|idle|unknown)")
                    .contains("driver (" + script + ":").contains("napper (" + script + ":")
                    .contains("<module> (" + script + ":16)");

            Result json = run(cli("dump", "-p", Long.toString(target.pid()), "--json"), 60);
            assertThat(json.exit()).as(json.err()).isZero();
            JsonNode doc = JSON.readTree(json.out());
            assertThat(doc.get("python").asText()).startsWith(py.version());
            assertThat(doc.get("threads").size()).isEqualTo(2);
            List<String> functions = new ArrayList<>();
            doc.get("threads").forEach(t -> t.get("frames").forEach(f -> functions.add(f.get("function").asText())));
            assertThat(functions).contains("driver", "napper", "<module>");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    /** Runs {@code command} in a detached tmux session of 160x40 and returns the screen once it shows {@code until}. */
    private String inTerminal(String session, List<String> command, java.util.Map<String, String> env, String until)
            throws Exception {
        String shellCommand = String.join(" ", command.stream().map(a -> "'" + a.replace("'", "'\\''") + "'")
                .toList());
        StringBuilder envs = new StringBuilder();
        env.forEach((k, v) -> envs.append(k).append("='").append(v.replace("'", "'\\''")).append("' "));
        assertThat(run(List.of("tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                "env " + envs + shellCommand + "; sleep 30"), 30).exit()).isZero();
        String screen = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Thread.sleep(500);
            screen = run(List.of("tmux", "capture-pane", "-p", "-t", session), 30).out();
            if (screen.contains(until)) {
                break;
            }
        }
        return screen;
    }

    private void assertTopScreen(String screen) {
        assertThat(screen).contains("spyglass top: process").contains("%Own").contains("%Total")
                .contains("hot_leaf (" + script + ")");
        String hotLine = screen.lines().filter(l -> l.contains("hot_leaf (")).findFirst().orElseThrow();
        double own = Double.parseDouble(hotLine.trim().split("%")[0]);
        assertThat(own).as(screen).isGreaterThan(30.0);
        // %NoGIL, the fifth column: hot_leaf is pure Python, run holding the GIL ("-" where the GIL is unknown).
        assertThat(screen).contains("%NoGIL");
        String noGil = hotLine.trim().split("\\s+")[4];
        assertThat(noGil.equals("-") || Double.parseDouble(noGil.replace("%", "")) < 50.0).as(screen).isTrue();
        String firstRow = screen.lines().dropWhile(l -> !l.contains("%Own")).skip(1).findFirst().orElseThrow();
        assertThat(firstRow).as(screen).contains("hot_leaf");
    }

    @Test
    void topShowsTheHottestFunctionsOfALaunchedCommandInATerminal() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tmux")), "tmux is not installed");
        PythonInterpreter py = someInterpreter();
        String session = "spyglass-top-launch-" + ProcessHandle.current().pid();
        List<String> top = new ArrayList<>(cli("top", "--"));
        top.addAll(py.commandLine(script.toString(), "8"));
        try {
            assertTopScreen(inTerminal(session, top, py.environment(), "hot_leaf"));
        } finally {
            run(List.of("tmux", "kill-session", "-t", session), 30);
        }
    }

    @Test
    void topAttachesByPidInATerminal() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tmux")), "tmux is not installed");
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "15");
        String session = "spyglass-top-attach-" + ProcessHandle.current().pid();
        try {
            assertTopScreen(inTerminal(session, cli("top", "-p", Long.toString(target.pid())), java.util.Map.of(),
                    "hot_leaf"));
        } finally {
            run(List.of("tmux", "kill-session", "-t", session), 30);
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    void recordShowsALiveStatusLineInATerminal() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tmux")), "tmux is not installed");
        PythonInterpreter py = someInterpreter();
        Process target = startTarget(py, "15");
        String session = "spyglass-record-" + ProcessHandle.current().pid();
        Path out = dir.resolve("live.collapsed");
        try {
            String screen = inTerminal(session, cli("record", "-p", Long.toString(target.pid()), "-d", "3",
                    "--mode=cpu", "-o", out.toString()), java.util.Map.of(), "torn");
            // On a loaded machine the line also says the sampler fell behind (" of 1,000/s (BEHIND: ...)").
            assertThat(screen).containsPattern("[0-9.]+ (s|ms|us) +[0-9,]+ samples +[0-9,]+/s"
                    + "( of [0-9,]+/s \\(BEHIND: [0-9,]+ ticks skipped\\))? +torn [0-9.]+% +-> live.collapsed");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!run(List.of("tmux", "capture-pane", "-p", "-t", session), 30).out().contains("wrote collapsed")
                    && System.nanoTime() < deadline) {
                Thread.sleep(300);
            }
            String end = run(List.of("tmux", "capture-pane", "-p", "-t", session), 30).out();
            assertThat(end).contains("wrote collapsed profile to " + out).doesNotContain("-> live.collapsed");
            assertThat(collapsedHottest(out)).endsWith("hot_leaf (" + script + ":5)");
        } finally {
            run(List.of("tmux", "kill-session", "-t", session), 30);
            target.destroyForcibly().waitFor();
        }
    }
}
