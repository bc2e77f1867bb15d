package dev.spyglass.internal.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container a process runs in, told from its control-group path ({@code /proc/PID/cgroup}): the id that
 * {@code docker ps}, {@code crictl ps} and {@code podman ps} show, in their short 12-character form.
 *
 * <p>The runtimes name a container's control group after its 64-hex-digit id, in both cgroup versions:
 * {@code 12:pids:/docker/ID} (Docker, cgroupfs driver; v1), {@code 0::/system.slice/docker-ID.scope} (Docker,
 * systemd driver; v2), {@code .../kubepods-burstable-pod<uid>.slice/cri-containerd-ID.scope} (containerd),
 * {@code .../crio-ID.scope} (CRI-O), {@code .../kubepods/besteffort/pod<uid>/ID} (kubelet, cgroupfs),
 * {@code /machine.slice/libpod-ID.scope/container} (Podman). The innermost such id in the path is taken (a
 * container nested in another names the inner one last). Podman's {@code libpod-conmon-ID.scope} is the
 * monitor beside a container, not in it, and is not matched.
 *
 * <p>Not told (an empty id): a process in no container; a container with its own cgroup namespace, whose
 * {@code /proc/PID/cgroup} reads {@code 0::/} to a reader inside it (Docker's default on cgroup v2) while the
 * host sees the full path; a runtime naming groups otherwise (LXC's {@code /lxc/NAME}).
 */
public final class ContainerId {
    /** The short form's length, as {@code docker ps} prints it. */
    public static final int SHORT_LENGTH = 12;

    // A path component that is the id, or the id with a runtime's prefix and/or ".scope" suffix.
    private static final Pattern COMPONENT = Pattern.compile(
            "^(?:(?:docker|cri-containerd|crio|libpod|containerd|cri-o)-)?([0-9a-f]{64})(?:\\.scope)?$");

    private ContainerId() {
    }

    /** The short id of the container {@code pid} runs in; empty when none can be told or the file is unreadable. */
    public static String of(long pid) {
        try {
            return parse(Files.readString(Path.of("/proc/" + pid + "/cgroup")));
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * The short container id in the text of a {@code /proc/PID/cgroup} file; empty when it names none. Each
     * line is {@code HIERARCHY:CONTROLLERS:PATH}; the first line whose path names a container decides (in a
     * container every hierarchy names the same one).
     */
    public static String parse(String cgroupFile) {
        for (String line : cgroupFile.split("\n")) {
            int second = line.indexOf(':', line.indexOf(':') + 1);
            if (second < 0) {
                continue;
            }
            String[] parts = line.substring(second + 1).strip().split("/");
            for (int i = parts.length - 1; i >= 0; i--) {
                Matcher m = COMPONENT.matcher(parts[i]);
                if (m.matches()) {
                    return m.group(1).substring(0, SHORT_LENGTH);
                }
            }
        }
        return "";
    }
}
