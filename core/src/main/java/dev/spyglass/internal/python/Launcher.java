package dev.spyglass.internal.python;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.InterpreterNotReadyException;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.os.ProcessTree;
import dev.spyglass.internal.os.Signals;

/**
 * Starts a command so that sampling begins before it runs (much) Python code, and finds the CPython process in it.
 *
 * <p>Measured on main (issue 10): a cold JVM's first attach takes 200-330 ms (class loading, FFM linkage, ELF
 * parsing) and up to seconds under load, all while the launched Python ran free: a 2-second script was often over
 * before it was seen, an 8-second one lost its first 1.2 s. So nothing of the attach path runs while the target
 * runs:
 * <ol>
 * <li>The command starts through {@code /bin/sh -c 'kill -STOP $$; exec "$0" "$@"' COMMAND ARGS}: the shell stops
 * itself before it {@code exec}s the command, which keeps the process id (and the JVM's {@link Process}).</li>
 * <li>While it is stopped, one look at it (a failing attach to the shell) loads and links what every later look
 * needs; then SIGCONT.</li>
 * <li>{@link LaunchWatch} then looks at the process and its descendants every millisecond, cheaply ({@code exe}
 * link, the {@code python*}/{@code libpython*} mappings). When one maps a Python, it is stopped (SIGSTOP), attached
 * while stopped (the ELF parsing and layout resolution, tens of ms, cost the target nothing) and continued; its
 * first Python frame is then awaited with polls every 0.2 ms. This follows shells, pyenv shims and {@code exec}
 * (same process) and a shell that forks Python as a child (the first descendant that becomes CPython).</li>
 * </ol>
 * A command that cannot be wrapped (no {@code /bin/sh}, or its program not found on its {@code PATH}, where the
 * JVM's own error message is better than the shell's) starts as it is and is watched the same way.
 */
public final class Launcher {
    private static final Logger LOG = LoggerFactory.getLogger(Launcher.class);
    private static final Path SHELL = Path.of("/bin/sh");
    /** {@code $0} keeps the command's own {@code argv[0]}: pyenv shims and Python's {@code sys.executable} use it. */
    private static final String STOP_THEN_EXEC = "kill -STOP $$; exec \"$0\" \"$@\"";
    /**
     * For native frames: the shell stays, the command runs as its child. The JDK's process reaper waits for the
     * JVM's own child with {@code waitpid(pid, 0)}, which would also take the ptrace stops of that child's main
     * thread; a grandchild is out of its reach. The shell exits with the command's status (128 + N for a signal).
     */
    private static final String STOP_THEN_RUN = "kill -STOP $$; \"$0\" \"$@\"";

    /**
     * A launched command and the attached CPython process in it (the command itself or a descendant).
     *
     * @param held the process id of {@code target} when it is still stopped (see {@link #launch}), else 0
     */
    public record Launched(Process process, Target target, long held) {
        /** Continues the target if it is still held stopped; at most once does anything. */
        public void resume() {
            if (held != 0) {
                Signals.send(held, Signals.SIGCONT);
            }
        }
    }

    private Launcher() {
    }

    /**
     * Starts {@code builder}'s command (the builder is left as it was) and waits, at most {@code timeout} from the
     * moment the command runs, until a CPython process in it runs Python code, or with {@code hold} only until one
     * is attached. With {@code hold}, a process attached while stopped (as usual) is left stopped before its
     * interpreter initialises ({@link Launched#held()}): the caller starts sampling and then
     * {@link Launched#resume()}s it, so that no Python code runs before the sampler does. The caller must resume
     * or {@linkplain #kill kill} it.
     *
     * @throws InterpreterNotReadyException      no CPython ready in time (the command is killed)
     * @throws dev.spyglass.ProcessGoneException the command exited first, with its exit status
     * @throws SpyglassException                 the command could not be started, or as for an attach
     */
    public static Launched launch(ProcessBuilder builder, Duration timeout, boolean hold) throws SpyglassException {
        return launch(builder, timeout, hold, false);
    }

    /**
     * As {@link #launch(ProcessBuilder, Duration, boolean)}; with {@code asGrandchild} the wrapper shell stays and
     * runs the command as its child, so the CPython process is not this JVM's child (native frames need that).
     */
    public static Launched launch(ProcessBuilder builder, Duration timeout, boolean hold, boolean asGrandchild)
            throws SpyglassException {
        Objects.requireNonNull(builder, "builder");
        Objects.requireNonNull(timeout, "timeout");
        boolean wrapped = canWrap(builder);
        Process process = start(builder, wrapped, asGrandchild ? STOP_THEN_RUN : STOP_THEN_EXEC);
        try {
            LaunchWatch watch = new LaunchWatch(process, timeout, hold);
            if (wrapped) {
                awaitStopped(process, watch, timeout);
                long warm = System.nanoTime();
                watch.warmUp();
                LOG.debug("launch of {}: looked at the stopped command in {} ms", builder.command(),
                        (System.nanoTime() - warm) / 1_000_000);
                Signals.send(process.pid(), Signals.SIGCONT);
            }
            Target target = watch.awaitReady();
            return new Launched(process, target, watch.held());
        } catch (SpyglassException | RuntimeException | Error e) {
            kill(process);
            throw e;
        }
    }

    /** Kills a command that will not be sampled, its descendants first (they may be stopped: SIGKILL ends them). */
    public static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static Process start(ProcessBuilder builder, boolean wrapped, String wrapper) throws SpyglassException {
        List<String> command = builder.command();
        if (wrapped) {
            List<String> sh = new ArrayList<>(List.of(SHELL.toString(), "-c",
                    // dash exports PWD: a command started without one must not get one from the wrapper.
                    (builder.environment().containsKey("PWD") ? "" : "unset PWD; ") + wrapper));
            sh.addAll(command);
            builder.command(sh);
        }
        try {
            return builder.start();
        } catch (IOException e) {
            throw new SpyglassException("cannot start " + command + ": " + e.getMessage(), e);
        } finally {
            builder.command(command);
        }
    }

    /** Waits until the wrapper shell has stopped itself (state T), before anything of the command ran. */
    private static void awaitStopped(Process process, LaunchWatch watch, Duration timeout) throws SpyglassException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ProcessTree.state(process.pid()) != 'T') {
            if (!process.isAlive()) {
                throw watch.exited();
            }
            if (System.nanoTime() - deadline > 0) {
                throw new InterpreterNotReadyException("process " + process.pid() + " did not reach its start "
                        + "within " + timeout.toMillis() + " ms (" + SHELL + " did not stop itself)");
            }
            LockSupport.parkNanos(100_000);
        }
    }

    /**
     * Whether the command can start through the stopping shell: {@code /bin/sh} is there and the command's program
     * is found as the shell will look for it (a path, or on the command's {@code PATH}).
     */
    static boolean canWrap(ProcessBuilder builder) {
        if (builder.command().isEmpty() || !Files.isExecutable(SHELL)) {
            return false;
        }
        String program = builder.command().get(0);
        Path dir = builder.directory() != null ? builder.directory().toPath() : Path.of("");
        if (program.contains("/")) {
            return runnable(dir.resolve(program));
        }
        String path = builder.environment().get("PATH");
        if (path == null || program.isEmpty()) {
            return false;
        }
        for (String entry : path.split(File.pathSeparator, -1)) {
            if (runnable(dir.resolve(entry.isEmpty() ? "." : entry).resolve(program))) {
                return true;
            }
        }
        return false;
    }

    private static boolean runnable(Path file) {
        return Files.isRegularFile(file) && Files.isExecutable(file);
    }
}
