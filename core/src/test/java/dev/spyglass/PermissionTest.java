package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
            List<String> cp = AsNobody.readableClassPath(dir);
            String out = AsNobody.run(AsNobody.java(cp, AttachProbe.class, Long.toString(target.pid())));
            assertThat(out).as(out).contains("AccessDeniedException: not allowed to read the memory of process "
                    + target.pid());
            assertThat(out).contains("uid 0").contains("uid 65534").contains("CAP_SYS_PTRACE");
        } finally {
            AsNobody.cleanUp(null, dir);
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
            List<String> cp = AsNobody.readableClassPath(dir);
            target = AsNobody.startUnderShell(python, script);
            long pid = AsNobody.readyPid(target);
            String out = AsNobody.run(AsNobody.java(cp, NativeProbe.class, Long.toString(pid)));
            assertThat(out).as(out).contains("OK").contains("napper").contains("(libc.so.6)");
        } finally {
            AsNobody.cleanUp(target, dir);
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
            List<String> cp = AsNobody.readableClassPath(dir);
            List<String> t = new ArrayList<>(AsNobody.SETPRIV);
            t.addAll(List.of(python.toString(), "-c", "import time\nwhile True: time.sleep(0.01)"));
            target = new ProcessBuilder(t).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = AsNobody.run(AsNobody.java(cp, KernelProbe.class, Long.toString(target.pid())));
            assertThat(out).as(out).contains("refusal: the kernel stacks of blocked threads")
                    .contains("CAP_SYS_ADMIN")
                    .contains("AccessDeniedException: kernel frames: the kernel stacks of blocked threads")
                    .doesNotContain("OK");
        } finally {
            AsNobody.cleanUp(target, dir);
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
            List<String> cp = AsNobody.readableClassPath(dir);
            List<String> t = new ArrayList<>(AsNobody.SETPRIV);
            t.addAll(List.of(python.toString(), "-c", "import time\nx = []\nwhile True:\n    x.append(bytearray(1 << 16))\n"
                            + "    time.sleep(0.001)"));
            target = new ProcessBuilder(t).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = AsNobody.run(AsNobody.java(cp, FaultsProbe.class, Long.toString(target.pid())));
            assertThat(out).as(out).contains("refusal: the kernel refused").contains("CAP_PERFMON")
                    .contains("kernel.perf_event_paranoid = " + paranoid).contains("Run as root")
                    .contains("PAGE_FAULTS AccessDeniedException: page-fault sampling: the kernel refused")
                    .contains("memory (RSS) mode").contains("OK MEMORY").doesNotContain("OK PAGE_FAULTS");
        } finally {
            AsNobody.cleanUp(target, dir);
        }
    }
}
