package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Issue 10: a libpython replaced on disk after the target started (as a package upgrade does: a new file
 * renamed over the old one, which stays mapped as "(deleted)") must not turn a live CPython into "not a
 * CPython process". With CAP_SYS_ADMIN the mapped image is read through /proc/PID/map_files; without it,
 * the error says what happened and what to do.
 */
class ReplacedLibpythonTest {

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def replaced_lib_sleeper():",
            "    while True:",
            "        time.sleep(0.05)",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "replaced_lib_sleeper()",
            "");

    @Test
    void aLibpythonReplacedOnDiskIsReadFromTheMappedImageOrNamed() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (map_files)");
        PythonInterpreter py = PythonInterpreters.available()
                .filter(p -> p.origin() == PythonInterpreter.Origin.PYENV && p.sharedLibpython() && p.atLeast(3, 7))
                .max(java.util.Comparator.comparing(PythonInterpreter::label)).orElse(null);
        Assumptions.assumeTrue(py != null, "needs a pyenv CPython 3.7+ with a shared libpython");
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
            String ready = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
            assertThat(ready).isEqualTo("ready");
            String maps = Files.readString(Path.of("/proc", Long.toString(p.pid()), "maps"));
            Assumptions.assumeTrue(maps.contains(copy.toString()), "the target did not map the copy " + copy);

            // A different file renamed over the mapped one: the old inode stays mapped, "(deleted)".
            Path other = dir.resolve("new.so");
            Files.write(other, "not the libpython this process runs\n".repeat(1000).getBytes());
            Files.move(other, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(Files.readString(Path.of("/proc", Long.toString(p.pid()), "maps")))
                    .contains(copy + " (deleted)");

            try (PythonProcess proc = PythonProcess.attach(p.pid())) {
                List<ThreadStack> threads = proc.snapshot();
                assertThat(threads).anySatisfy(t -> assertThat(t.frames())
                        .anySatisfy(f -> assertThat(f.function()).isEqualTo("replaced_lib_sleeper")));
            }

            // Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE map_files is refused: the message names the file.
            Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv for the second half");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/setpriv", "--bounding-set=-sys_admin,-checkpoint_restore",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    AttachProbe.class.getName(), Long.toString(p.pid())).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Assumptions.assumeFalse(out.startsWith("OK"), "map_files was readable without CAP_SYS_ADMIN: " + out);
            assertThat(out).as(out).contains("AccessDeniedException: cannot read the interpreter of process " + p.pid())
                    .contains(copy + " was deleted or replaced on disk after the process started")
                    .contains("CAP_SYS_ADMIN").doesNotContain("not a CPython process");
        } finally {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            try (Stream<Path> all = Files.list(dir)) {
                all.forEach(f -> f.toFile().delete());
            }
            Files.deleteIfExists(dir);
        }
    }
}
