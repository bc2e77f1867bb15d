package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Explains a refused read in terms a person can act on: who owns the target, who we are, whether we
 * hold {@code CAP_SYS_PTRACE}, and the Yama {@code ptrace_scope}.
 */
public final class AccessDiagnostics {
    private static final int CAP_SYS_PTRACE = 19;

    private AccessDiagnostics() {
    }

    /** A message for a refused read of {@code pid} while doing {@code what}. */
    public static String explain(long pid, String what) {
        long ourUid = statusUid(Path.of("/proc/self/status"));
        long theirUid = statusUid(Path.of("/proc/" + pid + "/status"));
        boolean cap = hasPtraceCapability();
        String scope = read(Path.of("/proc/sys/kernel/yama/ptrace_scope"));
        return message(pid, what, ourUid, theirUid, cap, scope);
    }

    /** Builds the message from the facts (separate for testing). */
    static String message(long pid, String what, long ourUid, long theirUid, boolean cap, String scope) {
        StringBuilder sb = new StringBuilder();
        sb.append("not allowed to read the memory of process ").append(pid).append(" (").append(what).append("). ");
        sb.append("Reading another process needs the rights of a debugger (ptrace attach): ");
        if (theirUid >= 0 && ourUid >= 0 && theirUid != ourUid && !cap) {
            sb.append("the target runs as uid ").append(theirUid).append(" but this JVM as uid ").append(ourUid)
                    .append(": run Spyglass as the same user, or with CAP_SYS_PTRACE (root, or "
                            + "setcap/`docker run --cap-add SYS_PTRACE`).");
        } else if (scope != null && !scope.isBlank() && !scope.strip().equals("0") && !cap) {
            sb.append("/proc/sys/kernel/yama/ptrace_scope is ").append(scope.strip())
                    .append(": set it to 0 (sysctl kernel.yama.ptrace_scope=0), launch the target from this JVM, "
                            + "or grant CAP_SYS_PTRACE.");
        } else if (cap) {
            sb.append("this JVM holds CAP_SYS_PTRACE, so a seccomp filter or security module (e.g. a container's "
                    + "default seccomp profile blocking process_vm_readv, or AppArmor/SELinux) refused it: "
                    + "run with --cap-add SYS_PTRACE / --security-opt seccomp=unconfined or adjust the policy.");
        } else {
            sb.append("run Spyglass as the same user as the target with ptrace_scope 0, or with CAP_SYS_PTRACE.");
        }
        return sb.toString();
    }

    private static boolean hasPtraceCapability() {
        String status = read(Path.of("/proc/self/status"));
        if (status == null) {
            return false;
        }
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                try {
                    long caps = Long.parseUnsignedLong(line.substring(7).strip(), 16);
                    return (caps & (1L << CAP_SYS_PTRACE)) != 0;
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return false;
    }

    private static long statusUid(Path status) {
        String text = read(status);
        if (text == null) {
            return -1;
        }
        for (String line : text.split("\n")) {
            if (line.startsWith("Uid:")) {
                String[] parts = line.substring(4).strip().split("\\s+");
                try {
                    return Long.parseLong(parts.length > 1 ? parts[1] : parts[0]);
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
