package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import dev.spyglass.AsNobody;

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
            List<String> cp = AsNobody.readableClassPath(dir);
            target = AsNobody.startUnderShell(python, script);
            long pid = AsNobody.readyPid(target);
            String out = AsNobody.run(AsNobody.java(cp, KernelAccessProbe.class, Long.toString(pid)));
            System.out.println(out); // the message a person would read, in the test's output file
            assertThat(out).as(out).contains("symbols available=false")
                    .contains("AccessDeniedException: the kernel refused to sample the kernel stacks of process " + pid)
                    .contains("EACCES").contains("kernel.perf_event_paranoid = " + paranoid)
                    .contains("CAP_PERFMON").contains("root");
        } finally {
            AsNobody.cleanUp(target, dir);
        }
    }
}
