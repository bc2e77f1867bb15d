package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Issue 10: a libpython replaced on disk after the target started (as a package upgrade does: a new file
 * renamed over the old one, which stays mapped as "(deleted)") must not turn a live CPython into "not a
 * CPython process". With CAP_SYS_ADMIN the mapped file is opened through /proc/PID/map_files; without it
 * (here: root with those capabilities dropped from the bounding set) the image is read from the target's
 * memory, and where that lacks the symbols (2.7, 3.6) the error says what happened and what to do.
 */
class ReplacedLibpythonTest {

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def replaced_lib_sleeper():",
            // Said from inside the function: once "ready" is read, the function is on the stack.
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(0.05)",
            "replaced_lib_sleeper()",
            "");

    @ForEachPython
    void aLibpythonReplacedOnDiskIsReadFromTheImageTheProcessRunsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Assumptions.assumeTrue(py.origin() == PythonInterpreter.Origin.PYENV && py.sharedLibpython()
                && py.atLeast(3, 7), "a pyenv CPython 3.7+ with a shared libpython (LD_LIBRARY_PATH picks the copy)");
        withReplacedLibpython(p -> p.equals(py), py.label(), (target, copy) -> {
            try (PythonProcess proc = PythonProcess.attach(target.pid())) {
                assertSleeperIn(proc.snapshot());
            }
            // Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE map_files is refused: read from memory.
            String out = probeWithoutMapFiles(target.pid());
            assertThat(out).as(out).contains("OK ").contains("  replaced_lib_sleeper");
        });
    }

    @Test
    void aReplacedLibpythonWhoseImageLacksTheSymbolsIsNamed() throws Exception {
        withReplacedLibpython(p -> !p.atLeast(3, 7), "a pyenv CPython 2.7 or 3.6 with a shared libpython",
                (target, copy) -> {
                    String out = probeWithoutMapFiles(target.pid());
                    assertThat(out).as(out)
                            .contains("AccessDeniedException: cannot read the interpreter of process " + target.pid())
                            .contains(copy + " was deleted or replaced on disk after the process started")
                            .contains("CAP_SYS_ADMIN").doesNotContain("not a CPython process");
                });
    }

    interface ReplacedCheck {
        void run(Process target, Path copy) throws Exception;
    }

    private static void withReplacedLibpython(Predicate<PythonInterpreter> which, String what, ReplacedCheck check)
            throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (map_files)");
        PythonInterpreter py = PythonInterpreters.available()
                .filter(p -> p.origin() == PythonInterpreter.Origin.PYENV && p.sharedLibpython() && !p.freeThreaded())
                .filter(which).max(java.util.Comparator.comparing(PythonInterpreter::label)).orElse(null);
        Assumptions.assumeTrue(py != null, "needs " + what);
        Path lib = py.libpython().orElseThrow();
        Path dir = Files.createTempDirectory("spyglass-replaced-lib-");
        Path copy = dir.resolve(lib.getFileName());
        Files.copy(lib, copy);
        Path script = PythonScripts.write("replaced_lib.py", SCRIPT);
        ProcessBuilder pb = py.processBuilder(script.toString());
        // LD_LIBRARY_PATH comes before the executable's DT_RUNPATH: the target maps the copy.
        pb.environment().put("LD_LIBRARY_PATH", dir.toString());
        Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String ready = new BufferedReader(new InputStreamReader(p.getInputStream())).readLine();
            assertThat(ready).as(py.label()).isEqualTo("ready");
            Path maps = Path.of("/proc", Long.toString(p.pid()), "maps");
            Assumptions.assumeTrue(Files.readString(maps).contains(copy.toString()), "the target did not map " + copy);

            // A different file renamed over the mapped one: the old inode stays mapped, "(deleted)".
            Path other = dir.resolve("new.so");
            Files.write(other, "not the libpython this process runs\n".repeat(1000).getBytes());
            Files.move(other, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(Files.readString(maps)).contains(copy + " (deleted)");
            check.run(p, copy);
        } finally {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            try (Stream<Path> all = Files.list(dir)) {
                all.forEach(f -> f.toFile().delete());
            }
            Files.deleteIfExists(dir);
        }
    }

    /** {@link AttachProbe} as root without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE: map_files is refused. */
    private static String probeWithoutMapFiles(long pid) throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv (util-linux)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process probe = new ProcessBuilder("/usr/bin/setpriv", "--bounding-set=-sys_admin,-checkpoint_restore",
                java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                AttachProbe.class.getName(), Long.toString(pid), "--frames").redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes());
        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static void assertSleeperIn(List<ThreadStack> threads) {
        assertThat(threads).anySatisfy(t -> assertThat(t.frames())
                .anySatisfy(f -> assertThat(f.function()).isEqualTo("replaced_lib_sleeper")));
    }
}
