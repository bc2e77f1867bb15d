package dev.spyglass.internal.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.ChildProcessCounts;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.internal.os.ProcessTree;
import dev.spyglass.internal.python.Target;

/**
 * Finds the descendants of a process as they appear and attaches to each CPython among them, on a thread of its
 * own so that the sampling thread never waits for a scan or an attach (tens of milliseconds of ELF reading each).
 * Every {@value #SCAN_MILLIS} ms it lists the tree ({@code /proc/PID/task/TID/children}), and looks at what is new
 * or has {@code exec}ed: a process that maps no {@code python*}/{@code libpython*} object is skipped (its own
 * children are still listed), one that does is attached and handed to the sampling thread ({@link #takeFound()}).
 *
 * <p>A process is known by its PID and start time, so a reused PID is a new process. Work per scan is bounded:
 * at most {@value #MAX_LOOKS_PER_SCAN} new processes looked at and {@value #MAX_ATTACHES_PER_SCAN} attaches; the
 * rest wait for the next scan ({@link ChildProcessCounts#deferred()}), and the tree listed is at most
 * {@value #MAX_LISTED} processes. Children that exit between two scans are never seen, which is the point: a
 * thousand short-lived helpers cost a listing each scan, not an attach each.
 */
public final class DescendantWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DescendantWatch.class);
    static final int SCAN_MILLIS = 100;
    static final int MAX_LOOKS_PER_SCAN = 64;
    static final int MAX_ATTACHES_PER_SCAN = 8;
    static final int MAX_LISTED = 4096;
    /** A CPython that will not attach (not initialised yet, layout in flux) is tried this many scans, then left. */
    private static final int MAX_ATTEMPTS = 30;
    /** At most this many processes are listed by {@link #processes()}: the rest are still sampled. */
    private static final int MAX_KEPT = 1024;
    static final int COMMAND_CHARS = 256;

    /** A CPython process attached, for the sampling thread to sample. */
    public record Found(Target target, FollowedProcess process) {
    }

    private enum Verdict { NEW, PYTHON, SKIPPED }

    /** One process (one program of it) of the tree; the watch's thread only. */
    private static final class Member {
        final long pid;
        final long parentPid;
        final long startTime;
        String executable;
        Verdict verdict = Verdict.NEW;
        int attempts;
        FollowedProcess followed;

        Member(long pid, long parentPid, long startTime) {
            this.pid = pid;
            this.parentPid = parentPid;
            this.startTime = startTime;
        }
    }

    private final long treeRoot;
    private final Map<Long, Member> members = new HashMap<>();
    private final ConcurrentLinkedQueue<Found> found = new ConcurrentLinkedQueue<>();
    /** Processes the sampling thread saw {@code exec}: a new program, even from the same executable file. */
    private final ConcurrentLinkedQueue<FollowedProcess> replaced = new ConcurrentLinkedQueue<>();
    private final List<FollowedProcess> kept = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;
    /** Set once a scan found neither the tree's root nor any process it followed alive. */
    private volatile boolean extinct;
    private volatile long foundCount;
    private volatile long pythonCount;
    private volatile long notPython;
    private volatile long accessDenied;
    private volatile long exitedBeforeAttach;
    private volatile long unsupported;
    private volatile long deferred;
    private boolean deniedSaid;

    /**
     * @param treeRoot the process whose descendants are followed (a launched command, else the target)
     * @param target   the session's own target, already sampled: a member of the tree from the start
     */
    public DescendantWatch(long treeRoot, Target target, FollowedProcess targetProcess) {
        this.treeRoot = treeRoot;
        long[] ps = ProcessTree.parentAndStartTime(target.pid());
        if (ps != null) {
            Member m = new Member(target.pid(), ps[0], ps[1]);
            m.executable = ProcessTree.executable(target.pid());
            m.verdict = Verdict.PYTHON;
            m.followed = targetProcess;
            members.put(m.pid, m);
        }
        keep(targetProcess);
        this.thread = new Thread(this::run, "spyglass-children-" + treeRoot);
        thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** The next CPython attached, or null; the sampling thread owns (and closes) its target. */
    public Found takeFound() {
        return found.poll();
    }

    /**
     * Tells the watch that {@code p} replaced its program ({@code exec}): multiprocessing's spawn execs the very
     * executable it forked from, which the executable's path does not show. Any thread.
     */
    public void programReplaced(FollowedProcess p) {
        replaced.add(p);
    }

    /** Whether the tree has died out: its root and every process followed have exited. */
    public boolean extinct() {
        return extinct && found.isEmpty();
    }

    public ChildProcessCounts counts() {
        return new ChildProcessCounts(foundCount, pythonCount, notPython, accessDenied, exitedBeforeAttach,
                unsupported, deferred);
    }

    /** The processes sampled, in the order they were found (the target first), at most {@value #MAX_KEPT}. */
    public List<FollowedProcess> processes() {
        synchronized (kept) {
            return List.copyOf(kept);
        }
    }

    private void keep(FollowedProcess p) {
        synchronized (kept) {
            if (kept.size() < MAX_KEPT) {
                kept.add(p);
            }
        }
    }

    private void run() {
        long next = System.nanoTime();
        while (!stopped) {
            try {
                scan();
            } catch (RuntimeException e) {
                LOG.warn("following the child processes of {} failed: {}", treeRoot, e.toString());
            }
            next += SCAN_MILLIS * 1_000_000L;
            long wait;
            while (!stopped && (wait = next - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
        }
        drainFound(); // attached after the sampling ended: never to be sampled
    }

    /** Stops looking, without waiting: the thread ends after the scan in progress. Any thread. */
    public void stop() {
        stopped = true;
        LockSupport.unpark(thread);
    }

    /** One scan: list the tree, forget what is gone, look at what is new. Package-private for tests. */
    void scan() {
        FollowedProcess r;
        while ((r = replaced.poll()) != null) {
            Member m = members.get(r.pid());
            if (m != null && m.followed == r) {
                m.followed.ended();
                m.followed = null;
                m.verdict = Verdict.NEW;
                m.attempts = 0;
                foundCount++;
            }
        }
        List<Long> listed = new ArrayList<>();
        listed.add(treeRoot);
        listed.addAll(ProcessTree.descendants(treeRoot, MAX_LISTED));
        Set<Long> inTree = new HashSet<>(listed);
        // A followed process whose parent exited was adopted by init (or a subreaper): still followed, its
        // children too.
        for (Member m : members.values()) {
            if (!inTree.contains(m.pid) && m.verdict == Verdict.PYTHON && listed.size() < MAX_LISTED) {
                listed.add(m.pid);
                inTree.add(m.pid);
                for (long d : ProcessTree.descendants(m.pid, MAX_LISTED - listed.size())) {
                    if (inTree.add(d)) {
                        listed.add(d);
                    }
                }
            }
        }
        boolean alive = false;
        Set<Long> live = new HashSet<>();
        int looks = 0;
        int attaches = 0;
        for (long pid : listed) {
            long[] ps = ProcessTree.parentAndStartTime(pid);
            if (ps == null || !ProcessTree.isAlive(pid)) {
                continue;
            }
            live.add(pid);
            alive = true;
            Member m = members.get(pid);
            if (m != null && m.startTime != ps[1]) {
                forget(m); // the PID names another process now
                m = null;
            }
            if (m == null) {
                m = new Member(pid, ps[0], ps[1]);
                members.put(pid, m);
                foundCount++;
            }
            if (m.verdict != Verdict.NEW) {
                String exe = ProcessTree.executable(pid);
                if (exe == null || exe.equals(m.executable)) {
                    continue;
                }
                // exec: a new program in the same process, looked at afresh.
                if (m.followed != null) {
                    m.followed.ended();
                    m.followed = null;
                }
                m.verdict = Verdict.NEW;
                m.attempts = 0;
                foundCount++;
            }
            if (looks >= MAX_LOOKS_PER_SCAN || attaches >= MAX_ATTACHES_PER_SCAN) {
                deferred++;
                continue;
            }
            looks++;
            attaches += lookAt(m) ? 1 : 0;
        }
        for (Iterator<Member> it = members.values().iterator(); it.hasNext();) {
            Member m = it.next();
            if (!live.contains(m.pid)) {
                forget(m);
                it.remove();
            }
        }
        extinct = !alive;
    }

    private static void forget(Member m) {
        if (m.followed != null) {
            m.followed.ended();
        }
    }

    /** Looks at a new process (or program); whether it attempted an attach. */
    private boolean lookAt(Member m) {
        m.executable = ProcessTree.executable(m.pid);
        String maps = ProcessTree.mapsText(m.pid);
        if (m.executable == null || maps == null) {
            if (ProcessTree.accessDenied(m.pid)) {
                denied(m, "its /proc/" + m.pid + "/exe and maps may not be read (another user's process?)");
            } else {
                exitedBeforeAttach++;
                m.verdict = Verdict.SKIPPED;
            }
            return false;
        }
        if (!mapsPython(maps)) {
            // A shell, a helper binary, or a Python that has not exec'd yet: skipped until its program changes.
            notPython++;
            m.verdict = Verdict.SKIPPED;
            return false;
        }
        m.attempts++;
        try {
            Target t = Target.attach(m.pid);
            FollowedProcess p = FollowedProcess.of(m.pid, t.version());
            m.verdict = Verdict.PYTHON;
            m.followed = p;
            pythonCount++;
            keep(p);
            LOG.debug("following child process {} (parent {}): CPython {}", m.pid, m.parentPid, t.version());
            found.add(new Found(t, p));
            if (stopped) {
                drainFound();
            }
        } catch (AccessDeniedException e) {
            denied(m, e.getMessage());
        } catch (ProcessGoneException e) {
            exitedBeforeAttach++;
            // Exec'd while attached (a spawn child forked, then exec'd python): its new program at the next scan.
            m.verdict = e.programReplaced() ? Verdict.NEW : Verdict.SKIPPED;
        } catch (UnsupportedPythonVersionException e) {
            giveUpAfterAttempts(m, e);
        } catch (SpyglassException | RuntimeException e) {
            // Not initialised yet (a child between exec and Py_Initialize), or structures in flux: next scan.
            giveUpAfterAttempts(m, e);
        }
        return true;
    }

    private void giveUpAfterAttempts(Member m, Exception e) {
        if (m.attempts >= MAX_ATTEMPTS) {
            unsupported++;
            m.verdict = Verdict.SKIPPED;
            LOG.debug("child process {} not sampled: {}", m.pid, e.getMessage());
        }
    }

    private void denied(Member m, String why) {
        accessDenied++;
        m.verdict = Verdict.SKIPPED;
        if (!deniedSaid) {
            deniedSaid = true;
            LOG.warn("child process {} not sampled: {} (further ones are counted, not logged)", m.pid, why);
        }
    }

    /** Whether {@code maps} holds a {@code python*} or {@code libpython*} object with its writable segment. */
    static boolean mapsPython(String maps) {
        int start = 0;
        while (start < maps.length()) {
            int end = maps.indexOf('\n', start);
            end = end < 0 ? maps.length() : end;
            int slash = maps.lastIndexOf('/', end - 1);
            int space = maps.indexOf(' ', start);
            if (slash >= start && space > 0 && space + 2 < end && maps.charAt(space + 2) == 'w'
                    && (maps.startsWith("python", slash + 1) || maps.startsWith("libpython", slash + 1))) {
                return true;
            }
            start = end + 1;
        }
        return false;
    }

    private void drainFound() {
        Found f;
        while ((f = found.poll()) != null) {
            f.target().close();
        }
    }

    /** Stops the thread (waiting for a scan in progress, at most 5 s) and closes targets not taken. */
    @Override
    public void close() {
        stop();
        if (thread.isAlive() && thread != Thread.currentThread()) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        drainFound();
    }
}
