package dev.spyglass.internal.python;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.InterpreterNotReadyException;
import dev.spyglass.NotAPythonProcessException;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.internal.os.ProcessTree;
import dev.spyglass.internal.os.Signals;

/**
 * Watches a launched command until a CPython process in it (the command itself, or a descendant) runs Python code:
 * the polling half of {@link Launcher}. Each look costs a few system calls per process; an attach happens only
 * when a process maps a new {@code python*}/{@code libpython*} object (and then while that process is stopped),
 * or, for Pythons under other names (an embedding program), at most every 2 to 50 ms.
 */
final class LaunchWatch {
    private static final Logger LOG = LoggerFactory.getLogger(LaunchWatch.class);
    private static final long UNSUPPORTED_GRACE_NANOS = 500_000_000L;
    /** How long a process may take to stop on SIGSTOP before it is attached running (uninterruptible sleep). */
    private static final long STOP_WAIT_NANOS = 20_000_000L;
    private static final long LOOK_NANOS = 1_000_000L;
    /** Between looks once attached: the interpreter's first frame comes within milliseconds. */
    private static final long READY_LOOK_NANOS = 200_000L;
    private static final long PLAIN_ATTACH_FIRST_NANOS = 2_000_000L;
    private static final long PLAIN_ATTACH_MAX_NANOS = 50_000_000L;

    /** One process of the command, as last seen. */
    private static final class Candidate {
        final long pid;
        String executable;
        /** The {@code python*} mappings when it was last attached while stopped. */
        String pythonMappings = "";
        /** Attached, its interpreter not yet running Python code. */
        Target target;
        long nextPlainAttach;
        long plainBackoff = PLAIN_ATTACH_FIRST_NANOS;

        Candidate(long pid) {
            this.pid = pid;
        }

        void drop() {
            if (target != null) {
                target.close();
                target = null;
            }
        }
    }

    private final Process process;
    private final long root;
    private final Duration timeout;
    /** Return the first attach, and leave a process attached while stopped stopped (see {@link Launcher}). */
    private final boolean hold;
    /** The process left stopped by the attach returned, or 0. */
    private long held;
    private final Map<Long, Candidate> candidates = new HashMap<>();
    private long started = System.nanoTime();
    private long unsupportedSince;
    private String missing = "it exited before Spyglass could look at it";

    LaunchWatch(Process process, Duration timeout, boolean hold) {
        this.process = process;
        this.root = process.pid();
        this.timeout = timeout;
        this.hold = hold;
    }

    /** The process the returned target was attached in while it was stopped, and is still stopped, or 0. */
    long held() {
        return held;
    }

    /** One look while the command is stopped: loads and links what the looks while it runs need. */
    void warmUp() {
        try {
            Target ready = look();
            if (ready != null) {
                ready.close();
            }
            // An attach to the shell (not a CPython): class loading and FFM linkage of the whole attach path, which
            // take 200-300 ms in a fresh JVM, and seconds under load.
            Target shell = attach(root, false);
            if (shell != null) {
                shell.close();
            }
        } catch (SpyglassException | RuntimeException e) {
            LOG.debug("look at the stopped command {}: {}", root, e.toString());
        }
        // Kept: the shell's candidate remembers its executable, so the exec of the command is a change.
        candidates.values().forEach(Candidate::drop);
        held = 0; // the shell stopped itself, and Launcher continues it
    }

    /** Looks until a CPython process of the command runs Python code; closes every other attach. */
    Target awaitReady() throws SpyglassException {
        started = System.nanoTime();
        long deadline = started + timeout.toNanos();
        try {
            while (true) {
                if (!process.isAlive()) {
                    throw exited();
                }
                Target ready = look();
                if (ready != null) {
                    LOG.debug("process {} of command {} ready after {} ms", ready.pid(), root,
                            (System.nanoTime() - started) / 1_000_000);
                    return ready;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new InterpreterNotReadyException("process " + root + " did not initialise a CPython "
                            + "interpreter within " + timeout.toMillis() + " ms: " + missing);
                }
                boolean attached = candidates.values().stream().anyMatch(c -> c.target != null);
                LockSupport.parkNanos(attached ? READY_LOOK_NANOS : LOOK_NANOS);
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    throw new InterpreterNotReadyException("interrupted while waiting for process " + root
                            + " to initialise: " + missing);
                }
            }
        } finally {
            candidates.values().forEach(Candidate::drop);
            candidates.clear();
        }
    }

    /** Looks at the command and its descendants once; the first ready target (taken out of its candidate). */
    private Target look() throws SpyglassException {
        List<Long> pids = new ArrayList<>();
        pids.add(root);
        pids.addAll(ProcessTree.descendants(root));
        for (long pid : pids) {
            Candidate c = candidates.computeIfAbsent(pid, Candidate::new);
            Target ready = lookAt(c);
            if (ready != null) {
                return ready;
            }
        }
        candidates.values().removeIf(c -> {
            boolean gone = !pids.contains(c.pid);
            if (gone) {
                c.drop();
            }
            return gone;
        });
        return null;
    }

    private Target lookAt(Candidate c) throws SpyglassException {
        String exe = ProcessTree.executable(c.pid);
        if (exe == null) {
            c.drop();
            return null;
        }
        if (!exe.equals(c.executable)) {
            // A new program (exec): what was attached is gone. No attach without a stop at once: a forked shell
            // that is about to exec Python would cost the look the milliseconds Python needs to start.
            c.executable = exe;
            c.drop();
            c.pythonMappings = "";
            c.plainBackoff = PLAIN_ATTACH_FIRST_NANOS;
            c.nextPlainAttach = System.nanoTime() + PLAIN_ATTACH_FIRST_NANOS;
        }
        if (c.target == null) {
            String maps = ProcessTree.mapsText(c.pid);
            if (maps == null) {
                return null;
            }
            String python = pythonMappings(maps);
            long now = System.nanoTime();
            if (python != null && python.isEmpty()) {
                return null; // ld.so is mapping a Python: look again when it is done
            }
            if (python != null && !python.equals(c.pythonMappings)) {
                c.pythonMappings = python;
                c.target = attach(c.pid, true);
            } else if (now - c.nextPlainAttach >= 0) {
                // No Python by name (an embedding program), or one that could not be attached when it was mapped
                // (stripped, not initialised yet): an attach while it runs, ever less often.
                c.target = attach(c.pid, false);
                c.nextPlainAttach = now + c.plainBackoff;
                c.plainBackoff = Math.min(PLAIN_ATTACH_MAX_NANOS, c.plainBackoff * 2);
            }
            if (c.target == null) {
                return null;
            }
            if (hold) {
                // The session starts on this target: its first tick is the look at whether Python runs.
                Target attached = c.target;
                c.target = null;
                return attached;
            }
        }
        try {
            String notYet = whatIsMissing(c.target);
            if (notYet == null) {
                Target ready = c.target;
                c.target = null;
                return ready;
            }
            missing = notYet;
        } catch (SpyglassException e) {
            // Structures in flux while the interpreter starts, or the process exited: attach again later.
            missing = e.getMessage();
            c.drop();
        }
        return null;
    }

    /** Attaches to {@code pid}, stopped for the time when {@code stopped}; null (and what was missing) on failure. */
    private Target attach(long pid, boolean stopped) throws SpyglassException {
        boolean stoppedHere = stopped && Signals.send(pid, Signals.SIGSTOP);
        long t0 = System.nanoTime();
        try {
            if (stoppedHere) {
                while (ProcessTree.state(pid) != 'T' && ProcessTree.isAlive(pid)
                        && System.nanoTime() - t0 < STOP_WAIT_NANOS) {
                    Thread.onSpinWait();
                }
            }
            Target t = Target.attach(pid);
            if (stoppedHere && hold) {
                LOG.debug("process {} attached while stopped in {} µs; held stopped", pid, (System.nanoTime() - t0) / 1000);
                held = pid;
                stoppedHere = false;
            } else if (stoppedHere) {
                // The first look at the threads too, while the target waits: its code is cold as well.
                whatIsMissing(t);
            }
            return t;
        } catch (NotAPythonProcessException e) {
            missing = "no CPython interpreter mapped yet, no libpython or _PyRuntime (" + e.getMessage() + ")";
        } catch (ProcessGoneException e) {
            missing = e.getMessage();
        } catch (UnsupportedPythonVersionException e) {
            // While ld.so maps libpython in steps, _PyRuntime can read as another part of the file
            // (no _Py_DebugOffsets cookie yet): only a verdict that holds for a while is final.
            long now = System.nanoTime();
            unsupportedSince = unsupportedSince == 0 ? now : unsupportedSince;
            if (now - unsupportedSince > UNSUPPORTED_GRACE_NANOS || now - started > timeout.toNanos()) {
                throw e;
            }
            missing = e.getMessage();
        } catch (SpyglassException e) {
            // Interpreter not ready, or structures in flux while it starts: retry.
            missing = e.getMessage();
        } finally {
            if (stoppedHere) {
                Signals.send(pid, Signals.SIGCONT);
                LOG.debug("process {} stopped {} µs to attach", pid, (System.nanoTime() - t0) / 1000);
            }
        }
        return null;
    }

    /**
     * The lines of {@code maps} whose file is {@code python*} or {@code libpython*}, as one string; empty while one
     * of those files has no writable mapping yet, null when there is none. ld.so first reserves a library's whole span with one mapping of the
     * file (where a later segment's address shows the wrong part of the file) and maps the writable data segment
     * last: an attach before that could read a wrong version or layout.
     */
    static String pythonMappings(String maps) {
        StringBuilder sb = new StringBuilder();
        java.util.Set<String> files = new java.util.HashSet<>();
        java.util.Set<String> writable = new java.util.HashSet<>();
        int start = 0;
        while (start < maps.length()) {
            int end = maps.indexOf('\n', start);
            end = end < 0 ? maps.length() : end;
            int slash = maps.lastIndexOf('/', end - 1);
            int space = maps.indexOf(' ', start);
            if (slash >= start && space > 0 && space + 5 <= end
                    && (maps.startsWith("python", slash + 1) || maps.startsWith("libpython", slash + 1))) {
                String file = maps.substring(slash, end);
                files.add(file);
                if (maps.charAt(space + 2) == 'w') {
                    writable.add(file);
                }
                sb.append(maps, start, space + 5).append(file).append('\n');
            }
            start = end + 1;
        }
        return files.isEmpty() ? null : writable.containsAll(files) ? sb.toString() : "";
    }

    /** Null when a thread of {@code t} runs Python code, else what is missing still. */
    static String whatIsMissing(Target t) throws SpyglassException {
        int n = t.readThreads(SamplingMode.WALL);
        if (n == 0) {
            return "the interpreter has no thread state yet (Py_Initialize has not finished)";
        }
        for (int i = 0; i < n; i++) {
            ThreadRecord r = t.thread(i);
            if (!r.torn() && r.depth() > 0) {
                return null;
            }
        }
        return "no thread runs Python code yet (interpreter initialised, no frame)";
    }

    /** The command exited before a CPython in it was ready: its exit status and what was seen last. */
    ProcessGoneException exited() {
        int status;
        try {
            process.waitFor();
            // Java reports death by signal N as status 128 + N, as a shell does.
            status = process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = -1;
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        String message = String.format(Locale.ROOT,
                "process %d exited %s after %.2f s, before Spyglass found its CPython interpreter ready to sample"
                        + " (last look: %s)",
                root, status >= 0 ? "with status " + status : "with an unknown status", seconds, missing);
        return status >= 0 ? new ProcessGoneException(root, message, status) : new ProcessGoneException(root, message);
    }
}
