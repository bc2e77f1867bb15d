package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * {@code ./spyglass install} (issue 16): a {@code spyglass} command in PREFIX/bin that runs from a jlink runtime
 * image, with no JDK, no Maven and no source tree in reach: its PATH is PREFIX/bin alone, no JAVA_HOME, run
 * from another folder. {@code spyglass uninstall} removes it. Sizes and start times are benchmarks
 * (docs/performance.md#installed-command); the image's size is bounded here only to catch a whole JDK copied.
 */
class InstallIT {
    private static final Path LAUNCHER = Path.of("..", "spyglass").toAbsolutePath().normalize();
    /** The image measured 77 MB (57 MB runtime, 19 MB cache, 1.4 MB jar); the whole Temurin 25 JDK is 303 MB. */
    private static final long MAX_IMAGE_BYTES = 150L << 20;

    @Test
    void installsACommandThatRunsWithoutJdkMavenOrSourceTreeAndUninstalls(@TempDir Path prefix, @TempDir Path cwd)
            throws Exception {
        assumeTrue(Files.isExecutable(LAUNCHER), "no launcher at " + LAUNCHER);
        Result install = run(List.of("bash", LAUNCHER.toString(), "install", "--prefix", prefix.toString()),
                Map.of("JAVA_HOME", LauncherIT.javaHome()), 900);
        assertThat(install.exit()).as(install.err()).isZero();
        assertThat(install.err()).contains("making a runtime image").contains("installed " + prefix.resolve("bin/spyglass"));
        Path lib = prefix.resolve("lib/spyglass");
        Path command = prefix.resolve("bin/spyglass");
        assertThat(command).isExecutable();
        assertThat(Files.readString(command)).as("nothing of the source tree").doesNotContain(LAUNCHER.getParent().toString());
        long bytes = sizeOf(lib);
        System.out.printf("installed image: %.1f MB in %s%n", bytes / 1048576.0, lib);
        assertThat(bytes).as("the image's size").isLessThan(MAX_IMAGE_BYTES);
        Result modules = runInstalled(prefix, cwd, "'" + lib.resolve("runtime/bin/java") + "' --list-modules");
        assertThat(modules.out()).as("only the modules jdeps found").contains("java.base").doesNotContain("jdk.compiler");
        if (Runtime.version().feature() >= 25) {
            assertThat(lib.resolve("spyglass-cli.aot")).as(install.err()).isNotEmptyFile();
        }

        Result version = runInstalled(prefix, cwd, "spyglass --version");
        assertThat(version.exit()).as(version.err()).isZero();
        assertThat(version.out()).startsWith("spyglass ");
        assertThat(version.err()).isEmpty();

        List<PythonInterpreter> pythons = PythonInterpreters.available().toList();
        assumeTrue(!pythons.isEmpty(), "no CPython on this machine for the installed dump");
        for (PythonInterpreter py : pythons) {
            // It says when it runs its code (a free-threaded build took seconds to start on a loaded machine).
            Process target = py.processBuilder("-c",
                    "import sys, time; sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(120)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (var ready = new java.io.BufferedReader(new java.io.InputStreamReader(target.getInputStream()))) {
                assertThat(ready.readLine()).as(py.label() + " started").isEqualTo("ready");
                Result dump = runInstalled(prefix, cwd, "spyglass dump -p " + target.pid());
                assertThat(dump.exit()).as(py.label() + ": " + dump.err()).isZero();
                assertThat(dump.out()).as(py.label()).contains("Process " + target.pid()).contains("<module>");
                System.out.println("installed dump ok on " + py.label());
            } finally {
                target.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        Result uninstall = runInstalled(prefix, cwd, "spyglass uninstall");
        assertThat(uninstall.exit()).as(uninstall.err()).isZero();
        assertThat(lib).doesNotExist();
        assertThat(command).doesNotExist();
    }

    /** Runs {@code sh -c line} in {@code cwd} with PATH = PREFIX/bin and nothing else in the environment. */
    private static Result runInstalled(Path prefix, Path cwd, String line) throws Exception {
        Path out = Files.createTempFile(cwd, "out", ".txt");
        Path err = Files.createTempFile(cwd, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", line).directory(cwd.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", prefix.resolve("bin").toString());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("did not finish in 120 s: " + line + "\n" + Files.readString(err));
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
