package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.cliJar;
import static dev.spyglass.examples.SpyglassCliIT.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.examples.SpyglassCliIT.Result;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * The {@code ./spyglass} launcher's start-up cache (issue 16): on JDK 25+ the first run after a build makes an
 * ahead-of-time cache by a training run, later runs use it, a broken cache is ignored without a word on
 * stderr, a rebuilt jar never runs with the cache of the jar before it; {@code SPYGLASS_AOT=0} runs without
 * one. Figures are benchmarks (docs/performance.md), not checked here.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of("..", "spyglass").toAbsolutePath().normalize();
    private static final String CLI_CLASS = "dev/spyglass/examples/SpyglassCli.class";

    private final Path targetDir = cliJar().toAbsolutePath().getParent();

    @AfterEach
    void leaveNoBrokenCache() throws Exception {
        // A later run (a user's) makes it again.
        deleteCaches(targetDir);
    }

    @Test
    void theStartUpCacheIsMadeOnceUsedAndABrokenOneIsIgnoredQuietly() throws Exception {
        assumeTrue(Files.isExecutable(LAUNCHER), "no launcher at " + LAUNCHER);
        PythonInterpreter py = PythonInterpreters.assumeAny(3, 11);
        Map<String, String> env = Map.of("JAVA_HOME", javaHome(), "SPYGLASS_AOT", "1");
        Process target = py.processBuilder("-c", "import time; time.sleep(120)")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(400);
            List<String> dump = List.of("bash", LAUNCHER.toString(), "dump", "-p", Long.toString(target.pid()));
            deleteCaches(targetDir);

            Result first = run(dump, env, 240);
            assertThat(first.exit()).as(first.err()).isZero();
            assertThat(first.out()).contains("Process " + target.pid());
            assertNoJvmNoise(first.err());
            if (Runtime.version().feature() < 25) {
                assertThat(caches(targetDir)).as("no AOT cache before JDK 25").isEmpty();
                return;
            }
            assertThat(first.err()).contains("making the start-up cache");
            assertThat(caches(targetDir)).as(first.err()).hasSize(1);
            Path cache = caches(targetDir).getFirst();

            Result second = run(dump, env, 120);
            assertThat(second.exit()).as(second.err()).isZero();
            assertThat(second.out()).contains("Process " + target.pid()).contains("<module>");
            assertThat(second.err()).doesNotContain("making the start-up cache");
            assertNoJvmNoise(second.err());

            // A broken cache (named for this very jar, so not remade) is ignored by the JVM without a word.
            Files.writeString(cache, "not an AOT cache");
            Result broken = run(dump, env, 120);
            assertThat(broken.exit()).as(broken.err()).isZero();
            assertThat(broken.out()).contains("Process " + target.pid());
            assertNoJvmNoise(broken.err());

            Result off = run(dump, Map.of("JAVA_HOME", javaHome(), "SPYGLASS_AOT", "0"), 120);
            assertThat(off.exit()).as(off.err()).isZero();
            assertThat(off.out()).contains("Process " + target.pid());
            assertNoJvmNoise(off.err());
        } finally {
            target.destroyForcibly();
        }
    }

    /**
     * A rebuild whose jar is no newer than the cache (as when a build rewrites the jar while a training run is
     * still going, or the jar is copied in with its old time): JDK 25 does not check the jar of a cache made
     * with -XX:AOTCacheOutput (JDK-8377932), so the old cache would run the old classes. Done in a copy of the
     * launcher beside a copy of the jar, whose {@code --version} text the "rebuild" changes.
     */
    @Test
    void aRebuiltJarNeverRunsWithTheCacheOfTheJarBeforeIt(@TempDir Path tree) throws Exception {
        assumeTrue(Files.isExecutable(LAUNCHER), "no launcher at " + LAUNCHER);
        assumeTrue(Runtime.version().feature() >= 25, "no AOT cache before JDK 25");
        Path launcher = copyLauncher(tree);
        Path jar = Files.createDirectories(tree.resolve("examples/target")).resolve("spyglass-cli.jar");
        Files.copy(cliJar(), jar);
        Map<String, String> env = Map.of("JAVA_HOME", javaHome(), "SPYGLASS_AOT", "1");
        List<String> version = List.of("bash", launcher.toString(), "--version");

        Result first = run(version, env, 240);
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.err()).contains("making the start-up cache");
        assertThat(caches(jar.getParent())).as(first.err()).hasSize(1);
        String before = first.out().strip();
        Result cached = run(version, env, 120);
        assertThat(cached.out().strip()).isEqualTo(before);
        assertThat(cached.err()).doesNotContain("making the start-up cache");

        String after = before.substring(0, before.length() - 7) + "rebuilt";
        FileTime cacheTime = Files.getLastModifiedTime(caches(jar.getParent()).getFirst());
        rewriteConstant(jar, CLI_CLASS, before, after);
        Files.setLastModifiedTime(jar, FileTime.fromMillis(cacheTime.toMillis() - 10_000));

        Result rebuilt = run(version, env, 240);
        assertThat(rebuilt.exit()).as(rebuilt.err()).isZero();
        assertThat(rebuilt.out().strip()).as("the rebuilt jar's classes, not the cached ones").isEqualTo(after);
        assertThat(rebuilt.err()).contains("making the start-up cache");
        assertThat(caches(jar.getParent())).as("the old jar's cache is gone").hasSize(1);
        Result again = run(version, env, 120);
        assertThat(again.out().strip()).isEqualTo(after);
        assertThat(again.err()).doesNotContain("making the start-up cache");
        assertNoJvmNoise(again.err());
    }

    /**
     * A first run says what it is doing while it builds (it was silent for minutes), and a failing build shows
     * Maven's errors. Maven here is a stand-in {@code mvnw} in a copy of the launcher's tree that prints what
     * Maven prints and then copies the real CLI jar into place, or fails; the CLI it then runs is the real one.
     */
    @Test
    void aBuildSaysWhichModuleItIsAtAndShowsMavensErrorsWhenItFails(@TempDir Path tree) throws Exception {
        assumeTrue(Files.isExecutable(LAUNCHER), "no launcher at " + LAUNCHER);
        Path launcher = copyLauncher(tree);
        Files.createDirectories(tree.resolve("examples/src/main"));
        Files.writeString(tree.resolve("pom.xml"), "<project/>");
        Path mvnw = tree.resolve("mvnw");
        Files.writeString(mvnw, String.join("\n", "#!/bin/sh",
                "echo '[INFO] Building Spyglass core 0.1.0-SNAPSHOT                              [4/5]'",
                "echo '[INFO] Building Spyglass examples and CLI 0.1.0-SNAPSHOT                  [5/5]'",
                "if [ -n \"$FAIL_BUILD\" ]; then echo '[ERROR] COMPILATION ERROR: Foo.java:[3,1] oops'; exit 1; fi",
                "mkdir -p examples/target && cp '" + cliJar().toAbsolutePath() + "' examples/target/spyglass-cli.jar",
                ""));
        assertThat(mvnw.toFile().setExecutable(true)).isTrue();
        List<String> version = List.of("bash", launcher.toString(), "--version");

        Result failed = run(version, Map.of("JAVA_HOME", javaHome(), "SPYGLASS_AOT", "0", "FAIL_BUILD", "1",
                "TMPDIR", tree.toString()), 120);
        assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
        assertThat(failed.err()).contains("spyglass: building with JDK at")
                .contains("spyglass:   [4/5] Spyglass core").contains("spyglass:   [5/5] Spyglass examples and CLI")
                .contains("[ERROR] COMPILATION ERROR: Foo.java:[3,1] oops").contains("the build failed (status 1)");

        Result built = run(version, Map.of("JAVA_HOME", javaHome(), "SPYGLASS_AOT", "0"), 120);
        assertThat(built.exit()).as(built.err()).isZero();
        assertThat(built.err()).contains("spyglass:   [5/5] Spyglass examples and CLI").containsPattern("built in \\d+ s")
                .doesNotContain("[INFO]");
        assertThat(built.out()).startsWith("spyglass ");
    }

    /**
     * JDK 25's AOT cache skips class files older than version 50 (picocli's are 49), so the build rewrites them
     * (examples/src/build/UpgradeOldClassFiles.java, on JDK 24+): none is left in the CLI jar.
     */
    @Test
    void theCliJarHoldsNoClassFileTheStartUpCacheWouldSkip() throws Exception {
        assumeTrue(Runtime.version().feature() >= 24, "class files are rewritten only by JDK 24+ builds");
        List<String> old = new java.util.ArrayList<>();
        int classes = 0;
        try (java.util.zip.ZipFile jar = new java.util.zip.ZipFile(cliJar().toFile())) {
            for (ZipEntry e : java.util.Collections.list(jar.entries())) {
                if (!e.getName().endsWith(".class")) {
                    continue;
                }
                classes++;
                try (InputStream in = jar.getInputStream(e)) {
                    byte[] head = in.readNBytes(8);
                    if (((head[6] & 0xff) << 8 | (head[7] & 0xff)) < 50) {
                        old.add(e.getName());
                    }
                }
            }
        }
        assertThat(classes).isGreaterThan(200);
        assertThat(old).as("class files older than version 50").isEmpty();
    }

    /** The launcher and the script it sources, in a copy of the tree's layout. */
    private static Path copyLauncher(Path tree) throws IOException {
        Path scripts = Files.createDirectories(tree.resolve("scripts"));
        Files.copy(LAUNCHER.resolveSibling("scripts").resolve("compiler-choice.sh"), scripts.resolve("compiler-choice.sh"));
        return Files.copy(LAUNCHER, tree.resolve("spyglass"));
    }

    static String javaHome() {
        return ProcessHandle.current().info().command().map(c -> Path.of(c).getParent().getParent().toString())
                .orElseThrow();
    }

    /** The start-up caches and failed-training markers the launcher keeps beside the jar. */
    private static List<Path> caches(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("spyglass-cli\\..*aot.*")).sorted().toList();
        }
    }

    private static void deleteCaches(Path dir) throws IOException {
        for (Path f : caches(dir)) {
            Files.deleteIfExists(f);
        }
    }

    /**
     * Rewrites the jar with one class's string constant replaced by another of the same length (so the class
     * stays valid): a rebuild with a visible change, made without Maven.
     */
    private static void rewriteConstant(Path jar, String entryName, String from, String to) throws IOException {
        assertThat(to).hasSameSizeAs(from);
        Path rewritten = jar.resolveSibling(jar.getFileName() + ".new");
        boolean replaced = false;
        try (InputStream raw = Files.newInputStream(jar); ZipInputStream in = new ZipInputStream(raw);
                OutputStream rawOut = Files.newOutputStream(rewritten); ZipOutputStream out = new ZipOutputStream(rawOut)) {
            for (ZipEntry e; (e = in.getNextEntry()) != null;) {
                byte[] bytes = in.readAllBytes();
                if (e.getName().equals(entryName)) {
                    String text = new String(bytes, StandardCharsets.ISO_8859_1);
                    assertThat(text).contains(from);
                    bytes = text.replace(from, to).getBytes(StandardCharsets.ISO_8859_1);
                    replaced = true;
                }
                out.putNextEntry(new ZipEntry(e.getName()));
                out.write(bytes);
                out.closeEntry();
            }
        }
        assertThat(replaced).as(entryName + " in " + jar).isTrue();
        Files.move(rewritten, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void assertNoJvmNoise(String stderr) {
        assertThat(stderr).doesNotContain("[aot]").doesNotContain("[cds]").doesNotContain("JAVA_TOOL_OPTIONS")
                .doesNotContain("building with JDK");
    }
}
