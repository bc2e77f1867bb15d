package dev.spyglass;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.spyglass.testsupport.PythonInterpreter;

/** Test targets: Python scripts run by a real interpreter, started and cleaned up by the tests. */
public final class PythonScripts {
    private PythonScripts() {
    }

    /** Writes {@code source} as {@code fileName} in a fresh temporary folder. */
    public static Path write(String fileName, String source) throws IOException {
        Path dir = Files.createTempDirectory("spyglass-core-");
        Path file = dir.resolve(fileName);
        Files.writeString(file, source, StandardCharsets.UTF_8);
        file.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        return file;
    }

    /** A running target that printed its ready line. */
    public record Running(Process process, Path script, String readyLine, long targetPid) implements AutoCloseable {
        public Running(Process process, Path script, String readyLine) {
            this(process, script, readyLine, process.pid());
        }

        /** The Python process (the started process itself, or the shell's child for {@link #startUnderShell}). */
        public long pid() {
            return targetPid;
        }

        /** Writes {@code line} and a newline to the target's standard input. */
        public void send(String line) throws IOException {
            java.io.OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        /** The layout Spyglass reads this target with (attached and detached for the purpose). */
        public dev.spyglass.cpython.abi.Layout layout() throws SpyglassException {
            try (dev.spyglass.internal.python.Target t = dev.spyglass.internal.python.Target.attach(pid())) {
                return t.interpreter().layout();
            }
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits (polling every 5 ms, at most 2 s) until the target wrote {@code file}; whether it did. */
    public static boolean awaitFile(Path file) throws InterruptedException {
        for (int i = 0; i < 400 && !Files.exists(file); i++) {
            Thread.sleep(5);
        }
        return Files.exists(file);
    }

    /** Starts {@code script} and waits (at most 20 s) until it prints a line containing {@code ready}. */
    public static Running start(PythonInterpreter py, Path script, String... args) throws IOException, InterruptedException {
        String[] all = new String[args.length + 1];
        all[0] = script.toString();
        System.arraycopy(args, 0, all, 1, args.length);
        Process p = py.processBuilder(all).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        return awaitReady(py, p, script);
    }

    /**
     * As {@link #start}, with the interpreter a child of a shell ({@code sh -c '"$@" & wait'}) rather than
     * of this JVM: native frames stop threads with ptrace, and the JDK's process reaper, which waits for
     * the JVM's own children, would take the stops of a child's main thread.
     */
    public static Running startUnderShell(PythonInterpreter py, Path script, String... args)
            throws IOException, InterruptedException {
        String[] all = new String[args.length + 1];
        all[0] = script.toString();
        System.arraycopy(args, 0, all, 1, args.length);
        ProcessBuilder b = py.processBuilder(all).redirectError(ProcessBuilder.Redirect.DISCARD);
        List<String> cmd = new java.util.ArrayList<>(List.of("sh", "-c", "\"$@\" & wait", "sh"));
        cmd.addAll(b.command());
        b.command(cmd);
        Process shell = b.start();
        Running r = awaitReady(py, shell, script);
        long child = shell.children().mapToLong(ProcessHandle::pid).findFirst()
                .orElseThrow(() -> new AssertionError(py.label() + ": no interpreter under the shell"));
        return new Running(shell, script, r.readyLine(), child);
    }

    /** Waits (at most 20 s) until the started {@code p} prints a line containing {@code ready}. */
    public static Running awaitReady(PythonInterpreter py, Process p, Path script) throws IOException, InterruptedException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                String l;
                while ((l = out.readLine()) != null) {
                    if (l.contains("ready")) {
                        return l;
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        String l;
        try {
            l = line.get(20, TimeUnit.SECONDS);
            if (l == null) {
                p.destroyForcibly();
                throw new AssertionError(py.label() + ": target exited before it was ready: " + script);
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            throw new AssertionError(py.label() + ": target not ready in 20 s: " + script, e);
        }
        // Keep draining stdout so the target never blocks on a full pipe.
        Thread.ofVirtual().start(() -> {
            try {
                out.transferTo(java.io.Writer.nullWriter());
            } catch (IOException e) {
                // target ended
            }
        });
        return new Running(p, script, l);
    }

    /** Line number (1-based) of the first line of {@code source} containing {@code marker}. */
    /**
     * Nanoseconds the threads of {@code pid} have spent runnable but waiting for a CPU (the second
     * field of each {@code /proc/PID/task/TID/schedstat}), summed; 0 where the kernel does not keep it.
     * A loaded machine shows here: an idle 2-core machine keeps a target's waits near zero.
     */
    public static long runQueueWaitNanos(long pid) {
        long sum = 0;
        try (var tasks = java.nio.file.Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String[] f = java.nio.file.Files.readString(t.resolve("schedstat")).trim().split(" ");
                    sum += Long.parseLong(f[1]);
                } catch (IOException | RuntimeException e) {
                    // thread ended, or no schedstat
                }
            }
        } catch (IOException e) {
            return sum;
        }
        return sum;
    }

    /** The machine's load average as /proc/loadavg has it (for the figures a test prints), or "unknown". */
    public static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    public static int lineOf(String source, String marker) {
        List<String> lines = source.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker)) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException("no line with " + marker);
    }

    public static final String RECURSION = String.join("\n",
            "import sys, time",
            "def leaf():",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(0.05)  # LEAF",
            "def recurse(n):",
            "    if n == 0:",
            "        leaf()  # CALL_LEAF",
            "    else:",
            "        recurse(n - 1)  # CALL_RECURSE",
            "recurse(DEPTH)  # CALL_MAIN",
            "");

    public static final String THREADS = String.join("\n",
            "import sys, threading, time",
            "def busy_one():",
            "    x = 0",
            "    while True:",
            "        x += 1  # BUSY_ONE",
            "def busy_two():",
            "    y = 0",
            "    while True:",
            "        y += 1  # BUSY_TWO",
            "def sleepy_one():",
            "    while True:",
            "        time.sleep(0.2)  # SLEEPY_ONE",
            "def sleepy_two():",
            "    while True:",
            "        time.sleep(0.2)  # SLEEPY_TWO",
            "for f in (busy_one, busy_two, sleepy_one, sleepy_two):",
            "    t = threading.Thread(target=f, name=f.__name__)",
            "    t.daemon = True",
            "    t.start()",
            "time.sleep(0.2)",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    time.sleep(0.2)  # MAIN",
            "");

    /**
     * Heavy burns 3 ms of CPU, light 1 ms, alternating, for DURATION seconds of wall time; then prints
     * the CPU time each really used and exits 0. Slices are CPU time, not wall time, so that
     * preemption on a loaded machine does not change the split.
     */
    public static final String SHARES = String.join("\n",
            "import sys, time",
            "cpu = getattr(time, 'process_time', None) or time.clock",
            "def heavy():",
            "    t = cpu() + 0.003",
            "    while cpu() < t:",
            "        pass",
            "def light():",
            "    t = cpu() + 0.001",
            "    while cpu() < t:",
            "        pass",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "time.sleep(0.1)",
            "h = l = 0.0",
            "end = time.time() + DURATION",
            "while time.time() < end:",
            "    a = cpu()",
            "    heavy()",
            "    b = cpu()",
            "    light()",
            "    c = cpu()",
            "    h += b - a",
            "    l += c - b",
            "sys.stdout.write('totals %f %f\\n' % (h, l)); sys.stdout.flush()",
            "");

    /** Sleeps in a function for a short while, then exits with status 3. */
    public static final String SHORT_LIVED = String.join("\n",
            "import sys, time",
            "def napping():",
            "    time.sleep(0.6)  # NAP",
            "napping()",
            "sys.exit(3)",
            "");

    public static final String NESTED_CLASS = String.join("\n",
            "import sys, time",
            "class Outer:",
            "    class Inner:",
            "        def method(self):",
            "            sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "            while True:",
            "                time.sleep(0.05)  # METHOD",
            "Outer.Inner().method()",
            "");

    /**
     * Non-ASCII names: Latin-1, BMP and (after NFKC, which CPython applies to identifiers) ASCII
     * function names; the target prints its own view of each frame (UTF-8 hex) as the oracle.
     */
    public static final String NON_ASCII = String.join("\n",
            "# -*- coding: utf-8 -*-",
            "import sys, time, binascii",
            "def hexs(s):",
            "    return binascii.hexlify(s.encode('utf-8')).decode('ascii')",
            "def 𝔘𝔫𝔦():",
            "    f = sys._getframe()",
            "    names = []",
            "    while f is not None:",
            "        names.append(hexs(f.f_code.co_name) + '@' + hexs(f.f_code.co_filename))",
            "        f = f.f_back",
            "    sys.stdout.write('ready ' + ' '.join(names) + '\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(0.05)  # LEAF",
            "def 函数():",
            "    𝔘𝔫𝔦()",
            "def naïve_ß():",
            "    函数()",
            "naïve_ß()",
            "");

    /** 2.7 has no non-ASCII identifiers: only the file name is non-ASCII. */
    public static final String NON_ASCII_27 = String.join("\n",
            "# -*- coding: utf-8 -*-",
            "import sys, time, binascii",
            "def hexs(s):",
            "    return binascii.hexlify(s)",
            "def leaf():",
            "    f = sys._getframe()",
            "    names = []",
            "    while f is not None:",
            "        names.append(hexs(f.f_code.co_name) + '@' + hexs(f.f_code.co_filename))",
            "        f = f.f_back",
            "    sys.stdout.write('ready ' + ' '.join(names) + '\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(0.05)  # LEAF",
            "def middle():",
            "    leaf()",
            "middle()",
            "");

    /** Waits for a line on stdin, then starts a sub-interpreter whose thread sleeps in {@code in_sub}. */
    public static final String SUBINTERPRETER = String.join("\n",
            "import sys, threading, time",
            "try:",
            "    import _xxsubinterpreters as interpreters",
            "except ImportError:",
            "    import _interpreters as interpreters",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "sys.stdin.readline()",
            "def run():",
            "    interp = interpreters.create()",
            "    interpreters.run_string(interp, 'import time\\ndef in_sub():\\n    while True:\\n        time.sleep(0.05)\\nin_sub()\\n')",
            "t = threading.Thread(target=run)",
            "t.daemon = True",
            "t.start()",
            "while True:",
            "    time.sleep(0.05)  # MAIN",
            "");

    /** Starts and ends short-lived threads all the time, each sleeping briefly in {@code short_lived}. */
    public static final String THREAD_CHURN = String.join("\n",
            "import sys, threading, time",
            "def short_lived(n):",
            "    time.sleep(0.002 * (n % 5))  # SHORT",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "n = 0",
            "while True:",
            "    ts = [threading.Thread(target=short_lived, args=(n + k,)) for k in range(4)]",
            "    for t in ts:",
            "        t.start()",
            "    for t in ts:",
            "        t.join()  # JOIN",
            "    n += 4",
            "");
}
