package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.ForTwoPythonShapes;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code spyglass trace} on a C library built here with gcc and loaded with ctypes.PyDLL (the GIL held) by pyenv
 * 3.9 - 3.13 and the Debian builds: {@code row_convert(3)} converts three "rows", each a string made by {@code row_text} (through
 * {@code PyUnicode_FromString}) turned into a float by {@code row_float} calling back into the interpreter's
 * {@code PyFloat_FromString} (the seed talk's case). The tree of one execution shows the calls nested and in order,
 * each call's self time plus its children's totals is its total, and children lie inside their parent's time.
 * Also the bad input: recursion in the trigger, a thread exiting inside it, a trigger given by address.
 */
class TraceCliIT {
    static final String SOURCE = String.join("\n",
            "#include <stdio.h>",
            "typedef struct _object PyObject;",
            "extern PyObject *PyUnicode_FromString(const char *);",
            "extern PyObject *PyFloat_FromString(PyObject *);",
            "extern void Py_DecRef(PyObject *);",
            "__attribute__((noinline)) PyObject *row_text(int i) {",
            "    char b[32]; snprintf(b, sizeof b, \"%d.5\", i); return PyUnicode_FromString(b); }",
            "__attribute__((noinline)) PyObject *row_float(PyObject *s) { return PyFloat_FromString(s); }",
            "__attribute__((noinline)) int row_convert(int n) {",
            "    for (int i = 0; i < n; i++) { PyObject *s = row_text(i); PyObject *f = row_float(s);",
            "        Py_DecRef(s); Py_DecRef(f); }",
            "    return n; }",
            "");
    static final String SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "lib = ctypes.PyDLL(sys.argv[1])",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.row_convert(3)",
            "    time.sleep(0.005)",
            "");
    /** Rows converted by a Python callback: the C code calls py_convert (line 3 of the script) through the C API. */
    static final String CALLBACK_SOURCE = String.join("\n",
            "#include <stdio.h>",
            "typedef struct _object PyObject;",
            "extern PyObject *PyUnicode_FromString(const char *);",
            "extern PyObject *PyObject_CallFunctionObjArgs(PyObject *, ...);",
            "extern void Py_DecRef(PyObject *);",
            "__attribute__((noinline)) PyObject *row_text(int i) {",
            "    char b[32]; snprintf(b, sizeof b, \"%d.5\", i); return PyUnicode_FromString(b); }",
            "__attribute__((noinline)) PyObject *row_call(PyObject *cb, PyObject *s) {",
            "    return PyObject_CallFunctionObjArgs(cb, s, (PyObject *) 0); }",
            "__attribute__((noinline)) int rows_cb(PyObject *cb, int n) {",
            "    for (int i = 0; i < n; i++) { PyObject *s = row_text(i); PyObject *f = row_call(cb, s);",
            "        Py_DecRef(s); Py_DecRef(f); }",
            "    return n; }",
            "");
    static final String CALLBACK_SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "",
            "def py_convert(s):",
            "    return s + '0'",
            "",
            "lib = ctypes.PyDLL(sys.argv[1])",
            "lib.rows_cb.argtypes = [ctypes.py_object, ctypes.c_int]",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.rows_cb(py_convert, 2)",
            "    time.sleep(0.005)",
            "");
    /**
     * A recursive trigger ({@code spy_rec(2)} calls {@code spy_leaf}, then itself down to 0) and a trigger that never returns:
     * {@code spy_dying} runs on a thread made here that calls {@code spy_leaf} and ends with the raw {@code exit} system call
     * inside it (no unwinding through the uretprobe's return address). Stacks of 64 KiB: the threads are never
     * joined, so their stacks stay mapped until the target is killed.
     */
    static final String REC_EXIT_SOURCE = String.join("\n",
            "#include <pthread.h>",
            "#include <unistd.h>",
            "#include <sys/syscall.h>",
            "__attribute__((noinline)) void spy_leaf(void) { __asm__ volatile(\"\"); }",
            "__attribute__((noinline)) int spy_rec(int n) { spy_leaf(); if (n > 0) spy_rec(n - 1); __asm__ volatile(\"\"); return n; }",
            "__attribute__((noinline)) void spy_dying(void) { spy_leaf(); syscall(SYS_exit, 0); }",
            "static void *body(void *a) { spy_dying(); return a; }",
            "void start_dying(void) { pthread_t t; pthread_attr_t at; pthread_attr_init(&at);",
            "    pthread_attr_setstacksize(&at, 65536); pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);",
            "    pthread_create(&t, &at, body, 0); pthread_attr_destroy(&at); }",
            "");
    static final String REC_EXIT_SCRIPT = String.join("\n",
            "import ctypes, sys, time",
            "lib = ctypes.CDLL(sys.argv[1])",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    lib.spy_rec(2)",
            "    lib.start_dying()",
            "    time.sleep(0.02)",
            "");
    /**
     * A busy function inside the trigger and a quiet one after it: {@code spy_burst(flag)} calls {@code spy_busy}
     * until the file {@code flag} exists (the test makes it once the trace said spy_busy was dropped; at most 60 s),
     * then {@code spy_quiet} once. So the quiet call comes after the drop whatever the machine's speed.
     */
    static final String BURST_SOURCE = String.join("\n",
            "#include <time.h>",
            "#include <unistd.h>",
            "__attribute__((noinline)) int spy_busy(int i) { __asm__ volatile(\"\"); return i + 1; }",
            "__attribute__((noinline)) int spy_quiet(int i) { __asm__ volatile(\"\"); return i + 7; }",
            "__attribute__((noinline)) int spy_burst(const char *flag) {",
            "    int x = 0; time_t started = time(0);",
            "    while (access(flag, F_OK) != 0 && time(0) - started < 60) {",
            "        for (int i = 0; i < 1000; i++) x = spy_busy(x); }",
            "    return spy_quiet(x); }",
            "");
    /**
     * One burst per line read: the test sends it once the trace's probes are in place (a burst begun before the
     * trigger's entry probe would be slowed by spy_busy's probe, yet not traced, until the drop).
     */
    static final String BURST_SCRIPT = String.join("\n",
            "import ctypes, sys",
            "lib = ctypes.CDLL(sys.argv[1])",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while sys.stdin.readline():",
            "    lib.spy_burst(sys.argv[2].encode())",
            "");
    static final Pattern LINE = Pattern.compile("^( +)(.+?)  total ([0-9.]+) µs  self ([0-9.]+) µs  at \\+([0-9.]+) µs$");

    @TempDir
    Path dir;

    record Node(int depth, String name, double total, double self, double start) {
    }

    @ForEachPython
    void pythonCallbacksShowTheFunctionRunOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        LatencyCliIT.assumePythonCallsProbeable(py);
        Path lib = UprobeTargets.buildLibrary(dir, "rowscb", CALLBACK_SOURCE);
        Path script = dir.resolve("rowscb.py");
        Files.writeString(script, CALLBACK_SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("cb.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "rows_cb", "--functions", "row_text,row_call", "--python-calls", "-d", "30s",
                    "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<String> names = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = LINE.matcher(line);
                if (m.matches()) {
                    names.add(m.group(1) + m.group(2));
                }
            }
            String python = "py_convert (" + script + ":3)";
            assertThat(names).as(tree).containsExactly(
                    "  rows_cb",
                    "    row_text", "    row_call", "      " + python,
                    "    row_text", "    row_call", "      " + python);
            Path json = dir.resolve("cb.json");
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "rows_cb", "--functions", "row_call", "--python-calls", "--count", "2", "-d", "30s", "-o",
                    json.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            // --count 2: two executions, each its own tree.
            assertThat(Files.readString(json).split("\\{\"tid\":", -1)).as(Files.readString(json)).hasSize(3);
            assertThat(Files.readString(json)).contains("\"python\":{\"function\":\"py_convert\",\"file\":\""
                    + script + "\",\"line\":3}");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Bad input of the issue: recursion in the trigger (nested trigger calls, each with its own probed call), a
     * thread that exits inside the trigger (said, status 8, not a wait for a return that cannot come), a trigger
     * given by address (for a stripped binary), {@code --functions} naming a library (every function it defines),
     * and no probe left after the command or after {@code kill -9} of its JVM.
     */
    @ForTwoPythonShapes
    void recursionAndAThreadExitingInsideTheTriggerOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "recexit", REC_EXIT_SOURCE);
        Path script = dir.resolve("recexit.py");
        Files.writeString(script, REC_EXIT_SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            long dying = UprobeTargets.address(target.pid(), lib, "spy_dying");
            byte original = UprobeTargets.byteAt(target.pid(), dying);
            // --functions as a library: spy_leaf, spy_rec, spy_dying, start_dying, body (and the object's own _init/_fini...).
            Path txt = dir.resolve("rec.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "spy_rec", "--functions", lib.getFileName().toString(), "-d", "30s", "-o",
                    txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<String> names = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = LINE.matcher(line);
                if (m.matches()) {
                    names.add(m.group(1) + m.group(2));
                }
            }
            assertThat(names).as(tree + r).containsExactly(
                    "  spy_rec", "    spy_leaf", "    spy_rec", "      spy_leaf", "      spy_rec", "        spy_leaf");
            assertThat(r.err()).contains("probes on spy_rec and ").doesNotContain("exited inside");

            // The rate guard names the function that fired most: spy_leaf, called by spy_rec 3 times and by
            // spy_dying once per round (spy_rec: 3); --count 1000 keeps it running until the guard's first window.
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "spy_rec", "--functions", "spy_leaf", "--count", "1000", "--max-rate", "5", "-d", "30s", "-o",
                    dir.resolve("rate.txt").toString()), 90);
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.RATE_LIMITED);
            assertThat(r.err()).as(r.toString()).contains("above --max-rate 5, spy_leaf the most (")
                    .contains("probing stopped");

            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "0x" + Long.toHexString(dying), "--functions", "spy_leaf", "-d", "2s"), 90);
            System.out.println(py.label() + ": " + r.err());
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.NO_SAMPLES);
            assertThat(r.err()).as(r.toString()).containsPattern("thread [0-9]+ exited inside spy_dying")
                    .contains("ended with their thread exiting inside it").doesNotContain("inlined")
                    .contains("no execution of spy_dying completed"); // the symbol found at the address, not 0x…
            assertThat(UprobeTargets.byteAt(target.pid(), dying)).as("probes gone after the run").isEqualTo(original);

            // latency too: a call whose thread ends inside the function is said, not silently dropped.
            r = SpyglassCliIT.run(SpyglassCliIT.cli("latency", "-p", Long.toString(target.pid()), "--function",
                    "spy_dying", "-d", "2s"), 90);
            System.out.println(py.label() + ": " + r.err());
            assertThat(r.exit()).as(r.toString()).isEqualTo(Failures.NO_SAMPLES);
            assertThat(r.err()).as(r.toString()).containsPattern("[0-9]+ calls? of spy_dying never returned: (its thread|their"
                    + " threads) ended inside it");
            assertThat(UprobeTargets.byteAt(target.pid(), dying)).as("probes gone after latency").isEqualTo(original);

            UprobeTargets.killedCliLeavesNoProbe(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "spy_dying", "--functions", "spy_leaf", "-d", "60s"), dir.resolve("cli.err"), target, dying,
                    original);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * The rate guard drops a busy function alone: spy_busy (thousands of calls a second inside the trigger, above
     * --max-rate 200) has its probes closed, the trace goes on, and spy_quiet, called after the drop, is in the
     * tree; the text, JSON and HTML outputs and stderr name the function dropped, when and at what rate. The
     * trigger itself runs once per trace, under the limit. Its breakpoint is gone after the run.
     */
    @ForTwoPythonShapes
    void aBusyFunctionIsDroppedAloneAndTheTraceGoesOnOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "burst", BURST_SOURCE);
        Path script = dir.resolve("burst.py");
        Files.writeString(script, BURST_SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString(), dir.resolve("flag").toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            long busy = UprobeTargets.address(target.pid(), lib, "spy_busy");
            byte original = UprobeTargets.byteAt(target.pid(), busy);
            Path txt = dir.resolve("burst.txt");
            SpyglassCliIT.Result r = traceOneBurst(target, txt);
            System.out.println(py.label() + ": " + r.err());
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.err()).as(r.toString()).containsPattern("spyglass: spy_busy dropped [0-9.]+ s after the"
                    + " probes were placed: it fired [0-9,]+ times a second, above --max-rate 200")
                    .doesNotContain("probing stopped").doesNotContain("spy_quiet dropped");
            String tree = Files.readString(txt);
            List<String> lines = tree.lines().toList();
            System.out.println(py.label() + ": " + lines.size() + " lines; " + lines.get(0) + "\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 4), lines.size())) + "\n" + r.err());
            assertThat(lines.get(0)).startsWith("dropped: spy_busy dropped ");
            int dropLine = -1;
            int busyCalls = 0;
            List<String> after = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = LINE.matcher(lines.get(i));
                if (lines.get(i).startsWith("    -- spy_busy dropped here, at +")) {
                    dropLine = i;
                } else if (m.matches() && dropLine < 0 && m.group(2).equals("spy_busy")) {
                    busyCalls++;
                } else if (m.matches() && dropLine >= 0) {
                    after.add(m.group(1) + m.group(2));
                }
            }
            assertThat(busyCalls).as("spy_busy calls before the drop").isPositive();
            assertThat(dropLine).as("the drop is marked inside the execution").isPositive();
            // After the drop: spy_quiet alone (a spy_busy call there would mean its probes stayed).
            assertThat(after).as(tree.substring(Math.max(0, tree.length() - 2000))).containsExactly("    spy_quiet");
            assertThat(UprobeTargets.byteAt(target.pid(), busy)).as("probes gone after the run").isEqualTo(original);

            Path json = dir.resolve("burst.json");
            r = traceOneBurst(target, json, "--per-thread"); // the per-thread route's rings drop a probe too
            assertThat(r.err()).as(r.toString()).contains("route: per-thread");
            assertThat(r.exit()).as(r.toString()).isZero();
            String doc = Files.readString(json);
            assertThat(doc).containsPattern("^\\{\"trigger\":\"spy_burst\",\"dropped\":\\[\\{\"function\":\"spy_busy\","
                    + "\"after_s\":[0-9.]+,\"rate_per_s\":[0-9]+,\"max_rate\":200\\}\\]")
                    .containsPattern("\"dropped\":\\[\\{\"function\":\"spy_busy\",\"at_us\":[0-9.]+\\}\\],\"call\":");
            Matcher at = Pattern.compile("\"at_us\":([0-9.]+)").matcher(doc);
            Matcher quiet = Pattern.compile("\"function\":\"spy_quiet\",\"start_us\":([0-9.]+)").matcher(doc);
            assertThat(at.find() && quiet.find()).as(doc.substring(Math.max(0, doc.length() - 600))).isTrue();
            assertThat(Double.parseDouble(quiet.group(1))).as("spy_quiet after the drop")
                    .isGreaterThan(Double.parseDouble(at.group(1)));

            Path html = dir.resolve("burst.html");
            r = traceOneBurst(target, html);
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(Files.readString(html)).containsPattern("<p class=\"dropped\">Dropped: spy_busy dropped [0-9.]+ s"
                    + " after the probes were placed: it fired [0-9,]+ times a second, above --max-rate 200")
                    .containsPattern("<div class=\"d\" style=\"left:[0-9.]+px\" title=\"spy_busy dropped here, at \\+")
                    .contains("title=\"spy_quiet: total ");
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Traces spy_burst into {@code output}: lets the target run one burst once the probes are in place, and end it
     * once the trace said spy_busy was dropped.
     */
    private SpyglassCliIT.Result traceOneBurst(Process target, Path output, String... more) throws Exception {
        Path flag = dir.resolve("flag");
        Files.deleteIfExists(flag);
        Path err = Files.createTempFile(dir, "trace", ".err");
        List<String> command = new ArrayList<>(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                "--trigger", "spy_burst", "--functions", "spy_busy,spy_quiet", "--max-rate", "200", "-d", "90s", "-o",
                output.toString()));
        command.addAll(List.of(more));
        Process cli = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        try {
            long end = System.nanoTime() + 120_000_000_000L;
            while (!Files.readString(err).contains("spyglass: route:") && cli.isAlive() && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            target.getOutputStream().write('\n');
            target.getOutputStream().flush();
            while (!Files.readString(err).contains("spy_busy dropped") && cli.isAlive() && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            Files.writeString(flag, "");
            assertThat(cli.waitFor(150, TimeUnit.SECONDS)).as("trace finished: " + Files.readString(err)).isTrue();
            return new SpyglassCliIT.Result(cli.exitValue(), "", Files.readString(err));
        } finally {
            cli.destroyForcibly();
        }
    }

    @ForEachPython
    void theTreeOfOneExecutionShowsTheNestedCallsInOrderOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(LatencyCliIT.probeable(py), LatencyCliIT.PROBED);
        UprobeTargets.assumeRoot();
        Path lib = UprobeTargets.buildLibrary(dir, "rows", SOURCE);
        Path script = dir.resolve("rows.py");
        Files.writeString(script, SCRIPT);
        Process target = py.processBuilder(script.toString(), lib.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            UprobeTargets.awaitReady(py, target);
            Path txt = dir.resolve("tree.txt");
            SpyglassCliIT.Result r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()),
                    "--trigger", "row_convert", "--functions", "row_*,PyFloat_FromString", "--count", "1", "-d", "30s",
                    "-o", txt.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String tree = Files.readString(txt);
            System.out.println(py.label() + ":\n" + tree);
            List<Node> nodes = new ArrayList<>();
            for (String line : tree.lines().toList()) {
                Matcher m = LINE.matcher(line);
                if (m.matches()) {
                    nodes.add(new Node(m.group(1).length() / 2, m.group(2), Double.parseDouble(m.group(3)),
                            Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))));
                }
            }
            assertThat(nodes).extracting(x -> "  ".repeat(x.depth()) + x.name()).as(tree).containsExactly(
                    "  row_convert",
                    "    row_text", "    row_float", "      PyFloat_FromString",
                    "    row_text", "    row_float", "      PyFloat_FromString",
                    "    row_text", "    row_float", "      PyFloat_FromString");
            for (int i = 0; i < nodes.size(); i++) {
                Node parent = nodes.get(i);
                double children = 0;
                double previousEnd = parent.start();
                for (int j = i + 1; j < nodes.size() && nodes.get(j).depth() > parent.depth(); j++) {
                    Node c = nodes.get(j);
                    if (c.depth() == parent.depth() + 1) {
                        children += c.total();
                        assertThat(c.start()).as(tree).isGreaterThanOrEqualTo(previousEnd - 0.1);
                        previousEnd = c.start() + c.total();
                    }
                }
                assertThat(parent.self() + children).as("self + children = total: " + tree)
                        .isCloseTo(parent.total(), within(0.1 * (1 + nodes.size())));
                assertThat(previousEnd).as("children inside their parent: " + tree)
                        .isLessThanOrEqualTo(parent.start() + parent.total() + 0.2);
                assertThat(parent.total()).isPositive();
            }
            Path html = dir.resolve("tree.html");
            r = SpyglassCliIT.run(SpyglassCliIT.cli("trace", "-p", Long.toString(target.pid()), "--trigger",
                    "row_convert", "--functions", "row_float,PyFloat_FromString", "-d", "30s", "-o", html.toString()), 90);
            assertThat(r.exit()).as(r.toString()).isZero();
            String page = Files.readString(html);
            assertThat(page).startsWith("<!DOCTYPE html>").doesNotContain("<script");
            // One lane per depth, 20 px apart: every box of a function at the lane of its depth.
            Matcher box = Pattern.compile("<div class=\"c\" style=\"left:[0-9.]+px;width:[0-9.]+px;top:([0-9]+)px\""
                    + " title=\"([A-Za-z_]+): total ").matcher(page);
            java.util.Map<String, java.util.Set<String>> lanes = new java.util.TreeMap<>();
            while (box.find()) {
                lanes.computeIfAbsent(box.group(2), k -> new java.util.TreeSet<>()).add(box.group(1));
            }
            assertThat(lanes).as(page).isEqualTo(java.util.Map.of("row_convert", java.util.Set.of("0"), "row_float",
                    java.util.Set.of("20"), "PyFloat_FromString", java.util.Set.of("40")));
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
