package dev.spyglass;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Starts a process under the PID of one that has exited, as the kernel does by itself once PIDs wrap:
 * as root, {@code /proc/sys/kernel/ns_last_pid} set to the wanted PID - 1 just before the start makes
 * the next PID the wanted one (unless another process of the machine takes it first: retried).
 */
final class PidReuse {
    private static final Path NS_LAST_PID = Path.of("/proc/sys/kernel/ns_last_pid");

    private PidReuse() {
    }

    /** Skips the calling test unless this JVM may write {@code ns_last_pid} (root in its PID namespace). */
    static void assumePossible() {
        Assumptions.assumeTrue(Files.isWritable(NS_LAST_PID) && "root".equals(System.getProperty("user.name")),
                "PID reuse needs root (writing " + NS_LAST_PID + ")");
    }

    /**
     * Starts {@code builder} as process {@code pid} (which must have exited and been reaped); skips the
     * calling test when another process took the PID each of 20 times.
     */
    static Process startAs(long pid, ProcessBuilder builder) throws IOException, InterruptedException {
        // The JDK completes the old process's exit before it forgets its PID (ProcessHandleImpl.completion):
        // a process started under that PID in between is taken for the old one, already exited, and its
        // pipes are closed under it. Forgetting takes microseconds once waitFor() returned.
        Thread.sleep(200);
        for (int attempt = 0; attempt < 20; attempt++) {
            // The write and the fork are not atomic: a process started elsewhere in between takes the PID.
            synchronized (PidReuse.class) {
                Files.writeString(NS_LAST_PID, Long.toString(pid - 1));
                Process p = builder.start();
                if (p.pid() == pid) {
                    return p;
                }
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
        Assumptions.abort("could not start a process under PID " + pid + " in 20 attempts (other processes took it)");
        throw new AssertionError("unreachable");
    }
}
