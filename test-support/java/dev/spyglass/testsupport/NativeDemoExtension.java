package dev.spyglass.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * The C extension {@code spyglass_native_demo} (source: {@code spyglass_native_demo.c} beside this class
 * in test-support/resources), built with gcc for one interpreter, for tests of native frames: Python
 * calling C calling libc calling C calling Python.
 *
 * <p>Built once per interpreter and source into {@code target/spyglass-native-demo/<label>/<hash>/} of
 * the module under test: the hash covers the source, the compiler flags and the interpreter, so a
 * changed source is rebuilt and an unchanged one is reused across runs.
 *
 * @param python  the interpreter it was built for
 * @param library the built extension, e.g. {@code spyglass_native_demo.cpython-312-x86_64-linux-gnu.so}
 */
public record NativeDemoExtension(PythonInterpreter python, Path library) {

    /** The module's name, as imported. */
    public static final String MODULE = "spyglass_native_demo";

    /**
     * -O1 keeps the named functions real (noinline in the source as well) and the code plain; the frame
     * pointer is kept only to ease reading a disassembly: Spyglass unwinds with .eh_frame.
     */
    private static final List<String> FLAGS = List.of("-shared", "-fPIC", "-O1", "-fno-omit-frame-pointer", "-g",
            "-Wall", "-Werror=implicit-function-declaration");

    /**
     * Prints the include folders and the extension suffix. 2.7 has sysconfig too, but no EXT_SUFFIX there
     * (its extensions are plain {@code .so}).
     */
    private static final String PROBE = String.join("\n",
            "import sys, sysconfig",
            "p = sysconfig.get_paths()",
            "sys.stdout.write('include=%s\\n' % p['include'])",
            "sys.stdout.write('platinclude=%s\\n' % p.get('platinclude', p['include']))",
            "sys.stdout.write('suffix=%s\\n' % (sysconfig.get_config_var('EXT_SUFFIX') or '.so'))",
            "");

    /**
     * A target whose main thread sorts forever through the extension: {@code <module>} calls
     * {@code py_caller}, which calls {@code ext_sort} (C), which calls libc's {@code qsort}, which calls
     * {@code compare_trampoline} (C), which calls {@code py_compare} (Python). Its one argument is the
     * folder of the extension ({@link #directory()}). It checks every result and exits with a message on
     * a wrong order; it prints {@code ready sorted=200 calls=N} (N: comparisons of the first sort) once
     * the first sort is right.
     */
    public static final String SORT_TARGET = String.join("\n",
            "import sys",
            "sys.path.insert(0, sys.argv[1])",
            "import spyglass_native_demo",
            "",
            "calls = [0]",
            "",
            "def py_compare(a, b):",
            "    calls[0] += 1",
            "    x = 0",
            "    for i in range(20):",
            "        x += i * i",
            "    return a - b",
            "",
            "def py_caller():",
            "    expected = list(range(1, 201))",
            "    rounds = 0",
            "    while True:",
            "        got = spyglass_native_demo.ext_sort(list(range(200, 0, -1)), py_compare)",
            "        if got != expected:",
            "            sys.exit('ext_sort gave a wrong order: %r' % (got[:10],))",
            "        rounds += 1",
            "        if rounds == 1:",
            "            sys.stdout.write('ready sorted=%d calls=%d\\n' % (len(got), calls[0]))",
            "            sys.stdout.flush()",
            "",
            "py_caller()",
            "");

    /**
     * A target whose main thread burns CPU in C without the GIL: {@code py_spinner} calls
     * {@code ext_spin} which runs {@code ext_spin_loop}. Its one argument is {@link #directory()}; prints
     * {@code ready}.
     */
    public static final String SPIN_TARGET = String.join("\n",
            "import sys",
            "sys.path.insert(0, sys.argv[1])",
            "import spyglass_native_demo",
            "",
            "def py_spinner():",
            "    while True:",
            "        spyglass_native_demo.ext_spin(50000000)",
            "",
            "sys.stdout.write('ready\\n')",
            "sys.stdout.flush()",
            "py_spinner()",
            "");

    private static final Map<String, NativeDemoExtension> BUILT = new ConcurrentHashMap<>();

    /** The folder holding the extension: put it on {@code sys.path} (the targets take it as argument). */
    public Path directory() {
        return library.getParent();
    }

    /** The extension's file name: what a native frame's {@code library()} shows for its functions. */
    public String fileName() {
        return library.getFileName().toString();
    }

    /**
     * The extension built for {@code py} (or the one built before from the same source). Skips the calling
     * test, with the reason, when {@code py} is unavailable, there is no gcc, or {@code py} has no C headers
     * (a provisioned Debian root without libpython3.X-dev); fails it when gcc rejects the source.
     */
    public static NativeDemoExtension build(PythonInterpreter py) throws IOException, InterruptedException {
        py.assumeAvailable();
        NativeDemoExtension done = BUILT.get(py.label());
        if (done != null && Files.isRegularFile(done.library())) {
            return done;
        }
        synchronized (BUILT) {
            done = BUILT.get(py.label());
            if (done == null || !Files.isRegularFile(done.library())) {
                done = compile(py);
                BUILT.put(py.label(), done);
            }
            return done;
        }
    }

    private static NativeDemoExtension compile(PythonInterpreter py) throws IOException, InterruptedException {
        Assumptions.assumeTrue(commandRuns(List.of("gcc", "--version")), "no gcc on this machine");
        Map<String, String> facts = probe(py);
        Path include = Path.of(facts.get("include"));
        Path platInclude = Path.of(facts.getOrDefault("platinclude", facts.get("include")));
        if (!Files.isRegularFile(include.resolve("Python.h"))) {
            String why = provisionedProperty(py, "headers.unavailable").map(r -> " (" + r + ")")
                    .orElse(py.origin() == PythonInterpreter.Origin.PROVISIONED
                            ? " (re-run scripts/provision-pythons.sh, which adds libpython3.X-dev)" : "");
            Assumptions.abort("no Python headers for " + py.label() + ": no " + include.resolve("Python.h") + why);
        }
        byte[] source = source();
        List<String> cmd = new ArrayList<>(List.of("gcc"));
        cmd.addAll(FLAGS);
        cmd.add("-I" + include);
        if (!platInclude.equals(include)) {
            cmd.add("-I" + platInclude);
        }
        // Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h> from the include folder's
        // parent; -idirafter so nothing else there shadows the system's headers.
        cmd.add("-idirafter");
        cmd.add(include.getParent().toString());
        Path dir = Path.of("target", "spyglass-native-demo", py.label(),
                hash(source, String.join(" ", cmd), py.executable().toString(), py.version()))
                .toAbsolutePath();
        Path library = dir.resolve(MODULE + facts.get("suffix"));
        if (Files.isRegularFile(library)) {
            return new NativeDemoExtension(py, library);
        }
        Files.createDirectories(dir);
        Path src = dir.resolve(MODULE + ".c");
        Files.write(src, source);
        // Built under a temporary name and moved into place: another test JVM may build the same one.
        Path tmp = Files.createTempFile(dir, MODULE, ".tmp");
        cmd.add("-o");
        cmd.add(tmp.toString());
        cmd.add(src.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("gcc did not finish in 120 s: " + cmd);
        }
        if (p.exitValue() != 0) {
            Files.deleteIfExists(tmp);
            throw new AssertionError("gcc failed (exit " + p.exitValue() + ") building " + MODULE + " for "
                    + py.label() + ": " + String.join(" ", cmd) + "\n" + out);
        }
        Files.move(tmp, library, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new NativeDemoExtension(py, library);
    }

    /** The extension's C source, as shipped in test-support/resources. */
    public static byte[] source() throws IOException {
        try (InputStream in = NativeDemoExtension.class.getResourceAsStream(MODULE + ".c")) {
            if (in == null) {
                throw new IllegalStateException(MODULE + ".c not on the test class path (test-support/resources)");
            }
            return in.readAllBytes();
        }
    }

    /**
     * A property of the root a {@link PythonInterpreter.Origin#PROVISIONED} interpreter was unpacked into
     * ({@code spyglass-python.properties}, written by scripts/provision-pythons.sh); empty for the others.
     */
    static Optional<String> provisionedProperty(PythonInterpreter py, String key) {
        if (py.origin() != PythonInterpreter.Origin.PROVISIONED || py.command().isEmpty()) {
            return Optional.empty();
        }
        Path props = Path.of(py.command().get(0)).resolveSibling("spyglass-python.properties");
        try {
            return Files.readAllLines(props).stream().filter(l -> l.startsWith(key + "="))
                    .map(l -> l.substring(key.length() + 1).strip()).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Map<String, String> probe(PythonInterpreter py) throws IOException, InterruptedException {
        Map<String, String> kv = new java.util.HashMap<>();
        for (String line : py.run(PROBE, 60).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        }
        if (!kv.containsKey("include") || !kv.containsKey("suffix")) {
            throw new AssertionError(py.label() + ": sysconfig probe printed no include folder or suffix: " + kv);
        }
        return kv;
    }

    private static boolean commandRuns(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String hash(byte[] source, String... parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(source);
            for (String part : parts) {
                sha.update((byte) 0);
                sha.update(part.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
