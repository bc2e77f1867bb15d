package dev.spyglass.examples;

import java.io.PrintStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Ends a command {@code record} launched when the recording ends before it (after {@code -d}, or when sampling
 * failed), so that it does not run on alone (parent PID 1, still writing to the terminal): SIGINT to the command and
 * every process it started (as Ctrl-C in a terminal does), SIGTERM to those left after {@link #GRACE}, SIGKILL to
 * those left {@link #GRACE} later. After Ctrl-C the terminal has already sent the SIGINT: the grace runs first.
 */
final class LaunchedCommand {
    /** How long the command gets to end after SIGINT, and again after SIGTERM. */
    static final Duration GRACE = Duration.ofSeconds(2);
    private static final int SIGINT = 2;

    private final List<ProcessHandle> processes;
    private final PrintStream err;
    private final long startedNanos = System.nanoTime();

    private LaunchedCommand(List<ProcessHandle> processes, PrintStream err) {
        this.processes = processes;
        this.err = err;
    }

    /**
     * Starts ending {@code command} and its descendants: SIGINT now unless {@code interrupted} (Ctrl-C reached them
     * already). Returns at once; {@link #finish()} waits and escalates.
     */
    static LaunchedCommand begin(Process command, boolean interrupted, PrintStream err) {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(command.toHandle());
        command.descendants().forEach(all::add);
        all.removeIf(p -> !p.isAlive());
        LaunchedCommand ending = new LaunchedCommand(all, err);
        if (!all.isEmpty()) {
            err.println("spyglass: ending the launched command (" + (interrupted ? "" : "SIGINT, ") + "SIGTERM after "
                    + GRACE.toSeconds() + " s, SIGKILL " + GRACE.toSeconds() + " s later; --keep-running leaves it)");
            if (!interrupted) {
                all.forEach(p -> interrupt(p.pid()));
            }
        }
        return ending;
    }

    /** Waits for the command to end, escalating to SIGTERM and SIGKILL; returns when all are gone or killed. */
    void finish() {
        if (awaitEnd(startedNanos + GRACE.toNanos())) {
            return;
        }
        err.println("spyglass: the launched command did not end on SIGINT within " + GRACE.toSeconds() + " s: SIGTERM");
        processes.forEach(ProcessHandle::destroy);
        if (awaitEnd(System.nanoTime() + GRACE.toNanos())) {
            return;
        }
        err.println("spyglass: the launched command did not end on SIGTERM within " + GRACE.toSeconds() + " s: SIGKILL");
        processes.forEach(ProcessHandle::destroyForcibly);
        awaitEnd(System.nanoTime() + GRACE.toNanos());
    }

    private boolean awaitEnd(long deadline) {
        for (ProcessHandle p : processes) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    p.onExit().get(left, TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    // still running: decided below
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return processes.stream().noneMatch(ProcessHandle::isAlive);
    }

    /** {@code true} while process {@code pid} runs: exists and is no zombie (which {@link ProcessHandle} counts alive). */
    static boolean isRunning(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            char state = close > 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : 'X';
            return state != 'Z' && state != 'X';
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** SIGINT through {@code kill(2)}: {@link ProcessHandle} sends only SIGTERM and SIGKILL. */
    @SuppressWarnings("restricted") // the CLI runs with --enable-native-access, as the library needs
    private static void interrupt(long pid) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle kill = linker.downcallHandle(linker.defaultLookup().find("kill").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            int ignored = (int) kill.invokeExact((int) pid, SIGINT);
        } catch (Throwable e) {
            // Without SIGINT the SIGTERM after the grace period still ends it.
        }
    }
}
