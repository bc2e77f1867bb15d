package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Kernel callchains as an unprivileged user (nobody, via setpriv) of the user's own process: with
 * {@code kernel.perf_event_paranoid} above 1 the kernel refuses kernel sampling (EACCES), and the
 * message must name the way out. Also /proc/kallsyms, read as that user, shows no addresses.
 */
class KernelCallchainsAccessTest {

    @Test
    void anUnprivilegedUserIsToldWhatKernelSamplingNeeds() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        String paranoid = Files.readString(Path.of("/proc/sys/kernel/perf_event_paranoid")).trim();
        Assumptions.assumeTrue(Integer.parseInt(paranoid) >= 2,
                "kernel.perf_event_paranoid = " + paranoid + " lets any user sample the kernel");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-kernel-");
        Path script = dir.resolve("spin.py");
        Files.writeString(script, String.join("\n",
                "import os, sys",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "while True:",
                "    os.stat('/')",
                ""));
        Process target = null;
        try {
            List<String> cp = readableClassPath(dir);
            target = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "sh", "-c", "\"$@\" & wait", "sh", python.toString(), script.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String ready = new java.io.BufferedReader(new java.io.InputStreamReader(target.getInputStream())).readLine();
            assertThat(ready).as("target's first line").startsWith("ready ");
            long pid = Long.parseLong(ready.substring(6).trim());
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp),
                    KernelAccessProbe.class.getName(), Long.toString(pid)).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            System.out.println(out); // the message a person would read, in the test's output file
            assertThat(out).as(out).contains("symbols available=false")
                    .contains("AccessDeniedException: the kernel refused to sample the kernel stacks of process " + pid)
                    .contains("EACCES").contains("kernel.perf_event_paranoid = " + paranoid)
                    .contains("CAP_PERFMON").contains("root");
        } finally {
            if (target != null) {
                target.descendants().forEach(ProcessHandle::destroyForcibly);
                target.destroyForcibly();
            }
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A class path another user can read (as PermissionTest's): copies of our classes and slf4j. */
    static List<String> readableClassPath(Path dir) throws Exception {
        List<String> cp = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(entry);
            if (!Files.exists(src) || !(entry.contains("/target/") || entry.contains("slf4j-api"))) {
                continue;
            }
            Path dst = dir.resolve("cp" + i++ + (Files.isDirectory(src) ? "" : ".jar"));
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
}
