package dev.spyglass.internal.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Explains why the kernel refused a perf event or its ring buffer, in words a person can act on: which
 * setting applies ({@code kernel.perf_event_paranoid}, with its current value), and which right
 * ({@code CAP_PERFMON}, root) would lift it.
 */
final class PerfAccess {
    static final int CAP_SYS_ADMIN = 21;
    static final int CAP_PERFMON = 38;

    private PerfAccess() {
    }

    /** The message for an EACCES/EPERM from {@code perf_event_open} for thread {@code tid} of {@code pid}. */
    static String explainOpen(long pid, int tid, int errno) {
        return explainOpen(pid, tid, errno, "sample the kernel stacks of", "Kernel frames need kernel sampling",
                "or sample without kernel frames");
    }

    /**
     * As {@link #explainOpen(long, int, int)} for another use of perf events: {@code what} the event was for
     * ("sample the kernel stacks of"), {@code need} why it needs the kernel's permission, {@code instead} the
     * way to do without.
     */
    static String explainOpen(long pid, int tid, int errno, String what, String need, String instead) {
        String paranoid = read("/proc/sys/kernel/perf_event_paranoid");
        long caps = effectiveCapabilities();
        boolean perfmon = caps >= 0 && ((caps >>> CAP_PERFMON) & 1) != 0;
        boolean admin = caps >= 0 && ((caps >>> CAP_SYS_ADMIN) & 1) != 0;
        StringBuilder m = new StringBuilder("the kernel refused to ").append(what).append(" process ").append(pid)
                .append(" (perf_event_open for thread ").append(tid).append(": ").append(PerfSyscalls.errnoName(errno))
                .append("). ");
        if (perfmon || admin) {
            // The capability lifts perf_event_paranoid; what is left is the right to trace the target,
            // or a security module / seccomp filter (Debian's paranoid=3 patch also honours CAP_PERFMON).
            m.append("This JVM holds ").append(perfmon ? "CAP_PERFMON" : "CAP_SYS_ADMIN")
                    .append(", so the refusal comes from the ptrace rules for process ").append(pid)
                    .append(" (another user's process needs CAP_SYS_PTRACE), a security module (SELinux, AppArmor,"
                            + " kernel lockdown) or a seccomp filter (containers: allow perf_event_open).");
        } else {
            m.append(need).append(", which kernel.perf_event_paranoid = ")
                    .append(paranoid == null ? "(unreadable)" : paranoid)
                    .append(" allows only to root or to a process with CAP_PERFMON (Linux 5.8+; CAP_SYS_ADMIN"
                            + " before) when above 1. Run as root, grant CAP_PERFMON (containers: --cap-add PERFMON),"
                            + " or set kernel.perf_event_paranoid to 1 (sysctl -w kernel.perf_event_paranoid=1);"
                            + " ").append(instead).append('.');
        }
        return m.toString();
    }

    /** The message for an EPERM from mapping a ring buffer: the locked-memory allowance is used up. */
    static String explainMmap(long pid, int errno) {
        String limit = read("/proc/sys/kernel/perf_event_mlock_kb");
        return "the kernel refused a perf ring buffer for process " + pid + " (mmap: " + PerfSyscalls.errnoName(errno)
                + "): the locked memory for perf buffers is used up (kernel.perf_event_mlock_kb = "
                + (limit == null ? "(unreadable)" : limit) + " per user, then RLIMIT_MEMLOCK). Raise"
                + " kernel.perf_event_mlock_kb or ulimit -l, run as root (CAP_IPC_LOCK), or sample fewer threads.";
    }

    /** {@code CapEff} of the calling thread (capabilities are per thread), or -1 when unknown. */
    static long effectiveCapabilities() {
        String status = read("/proc/thread-self/status");
        if (status == null) {
            return -1;
        }
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                try {
                    return Long.parseUnsignedLong(line.substring(7).trim(), 16);
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
