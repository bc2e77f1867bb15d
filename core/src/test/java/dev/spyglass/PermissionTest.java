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

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * A JVM running as another user (nobody, via setpriv), or in a user namespace the target is not in
 * (unshare -U -r), attaches to a Python process of root: it must get AccessDeniedException naming the
 * rule, not "not a Python process".
 */
class PermissionTest {

    /**
     * Inside {@code unshare -U -r} the JVM is "root" with every capability, but only within its user
     * namespace: the kernel refuses it a process owned outside. The message said "a seccomp filter or
     * security module refused it" (issue 10); it must name the user namespace.
     */
    @Test
    void aUserNamespaceGivesAccessDeniedNamingTheNamespace() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/unshare").canExecute(), "needs unshare (util-linux)");
        Process check = new ProcessBuilder("/usr/bin/unshare", "-U", "-r", "true").redirectErrorStream(true).start();
        String checkOut = new String(check.getInputStream().readAllBytes());
        Assumptions.assumeTrue(check.waitFor(30, TimeUnit.SECONDS) && check.exitValue() == 0,
                "unshare -U -r is not permitted here: " + checkOut.strip());
        PythonInterpreter py = PythonInterpreters.any(3, 8).orElseThrow();
        Path script = PythonScripts.write("recursion.py", PythonScripts.RECURSION.replace("DEPTH", "3"));
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/unshare", "-U", "-r", java, "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), AttachProbe.class.getName(),
                    Long.toString(target.pid())).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("AccessDeniedException: not allowed to read the memory of process "
                    + target.pid());
            assertThat(out).as(out).contains("user namespace")
                    .contains("capabilities in a user namespace do not reach a process owned outside it")
                    .doesNotContain("seccomp");
        }
    }

    @Test
    void anotherUsersProcessGivesAccessDeniedNamingWhatIsNeeded() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root");
        PythonInterpreter py = PythonInterpreters.any(3, 8).orElseThrow();
        Path script = PythonScripts.write("recursion.py", PythonScripts.RECURSION.replace("DEPTH", "3"));
        Path dir = Files.createTempDirectory("spyglass-perm-");
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            List<String> cp = readableClassPath(dir);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp),
                    AttachProbe.class.getName(), Long.toString(target.pid())).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("AccessDeniedException: not allowed to read the memory of process "
                    + target.pid());
            assertThat(out).contains("uid 0").contains("uid 65534").contains("CAP_SYS_PTRACE");
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Native frames as an unprivileged user, of the user's own process (no Yama scope here, or scope 0):
     * the target and the sampling JVM both run as nobody, the target under a shell (not the JVM's child);
     * the probe must get merged stacks with native frames, and refuse nothing.
     */
    @Test
    void nativeFramesOfOnesOwnProcessNeedNoPrivilege() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        Assumptions.assumeTrue(!Files.exists(yama) || Files.readString(yama).trim().equals("0"),
                "Yama ptrace_scope above 0: a user may not trace its own non-child processes");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-native-");
        Path script = dir.resolve("sleeper.py");
        Files.writeString(script, String.join("\n",
                "import os, sys, time",
                "def napper():",
                "    while True:",
                "        time.sleep(0.01)",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "napper()",
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
                    NativeProbe.class.getName(), Long.toString(pid)).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("OK").contains("napper").contains("(libc.so.6)");
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

    /**
     * Kernel frames as an unprivileged user, even of the user's own process: the kernel gives a thread's
     * kernel stack to CAP_SYS_ADMIN only. The refusal is said before anything is attached, naming it.
     */
    @Test
    void kernelFramesAsAnUnprivilegedUserAreRefusedSayingWhatIsNeeded() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-kernel-");
        Process target = null;
        try {
            List<String> cp = readableClassPath(dir);
            target = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    python.toString(), "-c", "import time\nwhile True: time.sleep(0.01)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp),
                    KernelProbe.class.getName(), Long.toString(target.pid())).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("refusal: the kernel stacks of blocked threads")
                    .contains("CAP_SYS_ADMIN")
                    .contains("AccessDeniedException: kernel frames: the kernel stacks of blocked threads")
                    .doesNotContain("OK");
        } finally {
            if (target != null) {
                target.destroyForcibly();
            }
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Page-fault sampling as an unprivileged user, of the user's own process: perf events with kernel sampling
     * need root, CAP_PERFMON or kernel.perf_event_paranoid at most 1. The refusal is said before anything is
     * attached, naming them; memory (RSS) mode, which needs no perf events, still samples the same process.
     */
    @Test
    void pageFaultsAsAnUnprivilegedUserAreRefusedSayingWhatIsNeeded() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        String paranoid = Files.readString(Path.of("/proc/sys/kernel/perf_event_paranoid")).trim();
        Assumptions.assumeTrue(Integer.parseInt(paranoid) > 1,
                "kernel.perf_event_paranoid = " + paranoid + " lets every user sample its own processes");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-faults-");
        Process target = null;
        try {
            List<String> cp = readableClassPath(dir);
            target = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    python.toString(), "-c", "import time\nx = []\nwhile True:\n    x.append(bytearray(1 << 16))\n"
                            + "    time.sleep(0.001)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process probe = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    java, "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp),
                    FaultsProbe.class.getName(), Long.toString(target.pid())).redirectErrorStream(true).start();
            String out = new String(probe.getInputStream().readAllBytes());
            assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).as(out).contains("refusal: the kernel refused").contains("CAP_PERFMON")
                    .contains("kernel.perf_event_paranoid = " + paranoid).contains("Run as root")
                    .contains("PAGE_FAULTS AccessDeniedException: page-fault sampling: the kernel refused")
                    .contains("memory (RSS) mode").contains("OK MEMORY").doesNotContain("OK PAGE_FAULTS");
        } finally {
            if (target != null) {
                target.destroyForcibly();
            }
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A class path another user can read: copies of our classes and jars in {@code dir}, all world-readable. */
    private static List<String> readableClassPath(Path dir) throws Exception {
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
            all.forEach(p -> p.toFile().setReadable(true, false));
        }
        dir.toFile().setExecutable(true, false);
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(Files::isDirectory).forEach(p -> p.toFile().setExecutable(true, false));
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
}
