package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.AsNobody;

/**
 * The no-stop native engine as an unprivileged user (nobody, via setpriv) on the user's own process:
 * with {@code kernel.perf_event_paranoid} above 1 the kernel refuses the context-switch snapshots
 * (kernel sampling), and attach must throw AccessDeniedException naming the way out, before sampling.
 */
class UserStackSamplesAccessTest {

    @Test
    void anUnprivilegedUserIsToldWhatTheNoStopEngineNeeds() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        String paranoid = Files.readString(Path.of("/proc/sys/kernel/perf_event_paranoid")).trim();
        Assumptions.assumeTrue(Integer.parseInt(paranoid) >= 2,
                "kernel.perf_event_paranoid = " + paranoid + " lets any user sample the kernel");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-nonstop-");
        Path script = dir.resolve("sleep.py");
        Files.writeString(script, String.join("\n",
                "import os, sys, time",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "while True:",
                "    time.sleep(0.01)",
                ""));
        Process target = null;
        try {
            List<String> cp = AsNobody.readableClassPath(dir);
            target = AsNobody.startUnderShell(python, script);
            long pid = AsNobody.readyPid(target);
            String out = AsNobody.run(AsNobody.java(cp, UserStackAccessProbe.class, Long.toString(pid)));
            System.out.println(out); // the message a person would read, in the test's output file
            assertThat(out).as(out).contains("refusal=the kernel refused to take user-stack snapshots (perf events), tried on this JVM's own")
                    .contains("AccessDeniedException: native frames without stopping: the kernel refused")
                    .contains("EACCES").contains("kernel.perf_event_paranoid = " + paranoid)
                    .contains("CAP_PERFMON").contains("brief-stop").doesNotContain("OK");
        } finally {
            AsNobody.cleanUp(target, dir);
        }
    }

    /**
     * With CAP_PERFMON but no locked memory beyond the perf allowance (kernel.perf_event_mlock_kb, 516 KiB by
     * default, times the CPUs: seven 132 KiB rings on 2 CPUs), the threads that got a ring are spliced and the
     * others go without: the session does not fail.
     */
    @Test
    void aUserWithCapPerfmonAndLittleLockedMemoryFollowsTheThreadsItCan() throws Exception {
        Assumptions.assumeTrue(new File("/usr/bin/setpriv").canExecute(), "needs setpriv");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs to run as root (to become nobody)");
        String mlock = Files.readString(Path.of("/proc/sys/kernel/perf_event_mlock_kb")).trim();
        int threads = 12;
        long allowance = Long.parseLong(mlock) * Runtime.getRuntime().availableProcessors();
        Assumptions.assumeTrue(allowance < threads * 132L, "perf_event_mlock_kb = " + mlock + " times the CPUs holds "
                + threads + " rings");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Path dir = Files.createTempDirectory("spyglass-perm-nonstop-");
        Path script = dir.resolve("sleepers.py");
        Files.writeString(script, String.join("\n",
                "import os, sys, threading, time",
                "def nap():",
                "    while True:",
                "        time.sleep(0.02)",
                "for i in range(" + (threads - 1) + "):",
                "    threading.Thread(target=nap, daemon=True).start()",
                "sys.stdout.write('ready %d\\n' % os.getpid()); sys.stdout.flush()",
                "nap()",
                ""));
        Process target = null;
        try {
            List<String> cp = AsNobody.readableClassPath(dir);
            target = AsNobody.startUnderShell(python, script);
            long pid = AsNobody.readyPid(target);
            List<String> cmd = new ArrayList<>(List.of("--inh-caps=+perfmon", "--ambient-caps=+perfmon", "sh", "-c",
                    "ulimit -l 0 && exec \"$@\"", "sh"));
            cmd.addAll(AsNobody.java(cp, UserStackAccessProbe.class, Long.toString(pid), "sample"));
            String out = AsNobody.run(cmd);
            System.out.println(out);
            assertThat(out).as(out).contains("refusal=null").contains("threads=" + threads + " ").contains("failure=none");
            Matcher m = Pattern.compile("splicedThreads=(\\d+)").matcher(out);
            assertThat(m.find()).as(out).isTrue();
            assertThat(Integer.parseInt(m.group(1))).as(out).isBetween(1, threads - 1);
        } finally {
            AsNobody.cleanUp(target, dir);
        }
    }
}
