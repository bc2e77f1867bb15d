package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cliJar;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * The {@code ./spyglass} launcher's start-up cache (issue 16): on JDK 25+ the first run after a build makes an
 * ahead-of-time cache by a training run, later runs use it, and a broken cache is ignored without a word on
 * stderr; {@code SPYGLASS_AOT=0} runs without one. Figures are benchmarks (docs/performance.md), not checked here.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("..", "spyglass").toAbsolutePath().normalize();

    private final Path cache = cliJar().toAbsolutePath().resolveSibling("spyglass-cli.aot");
    private final Path failedMarker = cliJar().toAbsolutePath().resolveSibling("spyglass-cli.aot.none");

    @AfterEach
    void leaveNoBrokenCache() throws Exception {
        // A later run (a user's) makes it again.
        Files.deleteIfExists(cache);
        Files.deleteIfExists(failedMarker);
    }

    @Test
    void theStartUpCacheIsMadeOnceUsedAndABrokenOneIsIgnoredQuietly() throws Exception {
        assumeTrue(Files.isExecutable(LAUNCHER), "no launcher at " + LAUNCHER);
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        String javaHome = ProcessHandle.current().info().command().map(c -> Path.of(c).getParent().getParent().toString())
                .orElseThrow();
        int feature = Runtime.version().feature();
        Map<String, String> env = Map.of("JAVA_HOME", javaHome, "SPYGLASS_AOT", "1");
        Process target = py.processBuilder("-c", "import time; time.sleep(120)")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(400);
            List<String> dump = List.of("bash", LAUNCHER.toString(), "dump", "-p", Long.toString(target.pid()));
            Files.deleteIfExists(cache);
            Files.deleteIfExists(failedMarker);

            Result first = run(dump, env, 240);
            assertThat(first.exit()).as(first.err()).isZero();
            assertThat(first.out()).contains("Process " + target.pid());
            assertNoJvmNoise(first.err());
            if (feature < 25) {
                assertThat(cache).as("no AOT cache before JDK 25").doesNotExist();
                return;
            }
            assertThat(first.err()).contains("making the start-up cache");
            assertThat(cache).as(first.err()).exists();

            Result second = run(dump, env, 120);
            assertThat(second.exit()).as(second.err()).isZero();
            assertThat(second.out()).contains("Process " + target.pid()).contains("<module>");
            assertThat(second.err()).doesNotContain("making the start-up cache");
            assertNoJvmNoise(second.err());

            // A broken cache (newer than the jar, so not remade) is ignored by the JVM without a word.
            Files.writeString(cache, "not an AOT cache");
            Files.setLastModifiedTime(cache, FileTime.from(Instant.now().plusSeconds(5)));
            Result broken = run(dump, env, 120);
            assertThat(broken.exit()).as(broken.err()).isZero();
            assertThat(broken.out()).contains("Process " + target.pid());
            assertNoJvmNoise(broken.err());

            Result off = run(dump, Map.of("JAVA_HOME", javaHome, "SPYGLASS_AOT", "0"), 120);
            assertThat(off.exit()).as(off.err()).isZero();
            assertThat(off.out()).contains("Process " + target.pid());
            assertNoJvmNoise(off.err());
        } finally {
            target.destroyForcibly();
        }
    }

    private static void assertNoJvmNoise(String stderr) {
        assertThat(stderr).doesNotContain("[aot]").doesNotContain("[cds]").doesNotContain("JAVA_TOOL_OPTIONS")
                .doesNotContain("building with JDK");
    }
}
