package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the permission tests ({@link PermissionTest}, {@code KernelCallchainsAccessTest},
 * {@code UserStackSamplesAccessTest}) share to run a target or a probe as the unprivileged user nobody (uid and gid
 * 65534, through {@code setpriv}, so the test JVM runs as root): a class path nobody can read, the target under a
 * shell (so that it is not the probing JVM's child), the probe's output, and the cleaning up.
 */
public final class AsNobody {
    /** {@code setpriv} to nobody, without root's groups: a command follows. */
    public static final List<String> SETPRIV = List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
            "--clear-groups");

    private AsNobody() {
    }

    /** A class path another user can read: copies of our classes and jars (and slf4j) in {@code dir}, all world-readable. */
    public static List<String> readableClassPath(Path dir) throws Exception {
        List<String> cp = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(entry);
            if (!Files.exists(src) || !(entry.contains("/target/") || entry.contains("slf4j-api"))) {
                continue;
            }
            Path dst = dir.resolve("cp" + i++ + (Files.isDirectory(src) ? "" : ".jar"));
            copy(src, dst);
            cp.add(dst.toString());
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.forEach(p -> {
                p.toFile().setReadable(true, false);
                if (Files.isDirectory(p)) {
                    p.toFile().setExecutable(true, false);
                }
            });
        }
        return cp;
    }

    private static void copy(Path src, Path dst) throws Exception {
        if (Files.isDirectory(src)) {
            try (Stream<Path> all = Files.walk(src)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    Path t = dst.resolve(src.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                    } else {
                        Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } else {
            Files.copy(src, dst);
        }
    }

    /**
     * Starts {@code script} with {@code python} as nobody under a shell (so the target is not the JVM's child, as a
     * process of one's own found by pid is not); the script's first line must be {@code ready PID}.
     */
    public static Process startUnderShell(Path python, Path script) throws Exception {
        List<String> cmd = new ArrayList<>(SETPRIV);
        cmd.addAll(List.of("sh", "-c", "\"$@\" & wait", "sh", python.toString(), script.toString()));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** The pid the target started by {@link #startUnderShell} gives on its first line, {@code ready PID}. */
    public static long readyPid(Process target) throws Exception {
        String ready = new java.io.BufferedReader(new java.io.InputStreamReader(target.getInputStream())).readLine();
        assertThat(ready).as("target's first line").startsWith("ready ");
        return Long.parseLong(ready.substring(6).trim());
    }

    /** {@code java} running {@code probe}'s main with {@code args}, on class path {@code cp}. */
    public static List<String> java(List<String> cp, Class<?> probe, String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                String.join(File.pathSeparator, cp), probe.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs {@code setpriv} to nobody with {@code command} (setpriv's further options first, if any): its output. */
    public static String run(List<String> command) throws Exception {
        List<String> cmd = new ArrayList<>(SETPRIV);
        cmd.addAll(command);
        Process probe = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes());
        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** Ends {@code target} (a shell's children too), if started, and deletes {@code dir}. */
    public static void cleanUp(Process target, Path dir) throws Exception {
        if (target != null) {
            target.descendants().forEach(ProcessHandle::destroyForcibly);
            target.destroyForcibly();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }
}
