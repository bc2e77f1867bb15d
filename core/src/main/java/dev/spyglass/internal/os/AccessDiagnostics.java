package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Explains a refused read in terms a person can act on: who owns the target, who we are, whether we
 * hold {@code CAP_SYS_PTRACE}, the Yama {@code ptrace_scope}, and whether we run in a user namespace the
 * target is not in.
 */
public final class AccessDiagnostics {
    private static final int CAP_SYS_PTRACE = 19;
    /** {@code /proc/self/uid_map} of the initial user namespace: every uid maps to itself. */
    private static final String INITIAL_UID_MAP = "0 0 4294967295";

    private AccessDiagnostics() {
    }

    /** A message for a refused read of {@code pid} while doing {@code what}. */
    public static String explain(long pid, String what) {
        long ourUid = statusUid(Path.of("/proc/self/status"));
        long theirUid = statusUid(Path.of("/proc/" + pid + "/status"));
        boolean cap = hasPtraceCapability();
        String scope = read(Path.of("/proc/sys/kernel/yama/ptrace_scope"));
        return message(pid, what, ourUid, theirUid, cap, scope, userNamespaceOutside(pid));
    }

    /** Builds the message from the facts (separate for testing). */
    static String message(long pid, String what, long ourUid, long theirUid, boolean cap, String scope) {
        return message(pid, what, ourUid, theirUid, cap, scope, null);
    }

    /**
     * Builds the message from the facts (separate for testing).
     *
     * @param userNamespace our user namespace's uid map when we run in a user namespace the target is not
     *                      in nor under, else null
     */
    static String message(long pid, String what, long ourUid, long theirUid, boolean cap, String scope,
            String userNamespace) {
        StringBuilder sb = new StringBuilder();
        sb.append("not allowed to read the memory of process ").append(pid).append(" (").append(what).append("). ");
        sb.append("Reading another process needs the rights of a debugger (ptrace attach): ");
        if (userNamespace != null) {
            // The kernel's ptrace check (cap_ptrace_access_check) takes CAP_SYS_PTRACE only in the target's
            // own user namespace or one above it: a "root" of `unshare -U -r` or of a rootless container has
            // all capabilities, but only over processes inside its namespace. Uids that look the same do
            // not help either. Checked first: otherwise the full CapEff would blame seccomp.
            sb.append("this JVM runs in a user namespace (uid_map '").append(userNamespace)
                    .append("', e.g. `unshare -U` or a rootless container) and process ").append(pid)
                    .append(" is owned outside it: capabilities in a user namespace do not reach a process "
                            + "owned outside it, CAP_SYS_PTRACE included. Run Spyglass in the target's user "
                            + "namespace (outside `unshare -U`), or start the target inside this one.");
        } else if (theirUid >= 0 && ourUid >= 0 && theirUid != ourUid && !cap) {
            sb.append("the target runs as uid ").append(theirUid).append(" but this JVM as uid ").append(ourUid);
            if (ourUid == 0) {
                // A container's root (a Kubernetes sidecar's too) lacks CAP_SYS_PTRACE unless it is added:
                // being uid 0 is not enough, so name the exact option of each runtime.
                sb.append(" without the capability CAP_SYS_PTRACE (a container's root lacks it unless added)");
            }
            sb.append(": run Spyglass as the same user, or add the capability CAP_SYS_PTRACE: "
                    + "`docker run --cap-add SYS_PTRACE` (with `--pid=container:ID` for a sidecar), in Kubernetes "
                    + "`securityContext: {capabilities: {add: [\"SYS_PTRACE\"]}}` "
                    + "(with `shareProcessNamespace: true`), "
                    + "or outside containers root or `setcap cap_sys_ptrace+ep` on the java binary.");
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

    /**
     * Our uid map (one line, spaces squeezed) when we run in a non-initial user namespace that
     * {@code pid} is neither in nor under; null otherwise or when it cannot be told.
     */
    static String userNamespaceOutside(long pid) {
        String map = read(Path.of("/proc/self/uid_map"));
        if (map == null) {
            return null;
        }
        String squeezed = map.strip().replaceAll("\\s+", " ");
        if (squeezed.equals(INITIAL_UID_MAP)) {
            return null;
        }
        // Reading another process's namespace link is itself a ptrace check (PTRACE_MODE_READ, the same
        // capability rule): refused for a process owned outside our namespace, allowed for one in it or
        // under it. A readable link means the namespace is not what refused the read.
        if (link(Path.of("/proc/" + pid + "/ns/user")) != null) {
            return null;
        }
        return squeezed;
    }

    private static String link(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
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
