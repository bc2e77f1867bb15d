package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.kernel.SwitchRecords;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Thread states kept from look to look for threads the switch records prove idle ({@code ReadAheadThreadStates}):
 * a worker past the first eight list positions ends while the thread before it in the list (newer) sleeps, so that
 * one's copy still points at the ended thread's freed state. Every look after the end must still list every other
 * worker (the copy before it is read again because the thread after it ran), and never the ended one; a thread
 * started later is seen.
 */
class IdleThreadStatesTest {
    private static final int THREADS = 32;
    /** List position THREADS - 1 - VICTIM = 15 (newest first); the thread before it, worker-17, sits at 14. */
    private static final int VICTIM = 16;
    private static final long DEADLINE_NANOS = 20_000_000_000L;

    static final String SCRIPT = String.join("\n",
            "import os, sys, threading",
            "N = int(sys.argv[1])",
            "DIR = sys.argv[2]",
            "stops = [threading.Event() for i in range(N + 1)]",
            "def park(i):",
            "    while not stops[i].is_set():",
            "        stops[i].wait(0.02)",
            "def start(i):",
            "    t = threading.Thread(target=park, args=(i,), name='worker-%d' % i)",
            "    t.daemon = True",
            "    t.start()",
            "    return t",
            "threads = [start(i) for i in range(N)]",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    line = sys.stdin.readline()",
            "    if not line:",
            "        break",
            "    cmd, i = line.split()",
            "    i = int(i)",
            "    if cmd == 'end':",
            "        stops[i].set()",
            "        threads[i].join()",
            "        open(os.path.join(DIR, 'ended-%d' % i), 'w').close()",
            "    else:",
            "        threads.append(start(i))",
            "        open(os.path.join(DIR, 'started-%d' % i), 'w').close()",
            "");

    /** One look: the names of its records (torn ones included), and the TID of {@code worker-<tidOf>} or -1. */
    private static Set<String> look(Target t, long[] tid, int tidOf) throws SpyglassException {
        int n = t.readThreads(SamplingMode.WALL);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < n; i++) {
            ThreadRecord r = t.thread(i);
            String name = t.threadName(r);
            names.add(r.torn() ? "torn:" + name : name);
            if (!r.torn() && ("worker-" + tidOf).equals(name)) {
                tid[0] = r.nativeThreadId();
            }
        }
        return names;
    }

    @ForEachPython
    void aThreadAfterAnIdleOneEndsAndNoLookLosesTheRestOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (SwitchRecords probe = SwitchRecords.open(1)) {
            // only whether this JVM may have them
        } catch (SpyglassException e) {
            Assumptions.abort("no sched_switch records here: " + e.getMessage());
        }
        Path script = PythonScripts.write("idle_states.py", SCRIPT);
        Path dir = Files.createTempDirectory("spyglass-idle-states");
        try (PythonScripts.Running target = PythonScripts.start(py, script, Integer.toString(THREADS), dir.toString());
                Target t = Target.attach(target.pid())) {
            long[] tid = {-1};
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            while ((t.reader().threadStatesKept() == 0 || tid[0] <= 0) && System.nanoTime() < deadline) {
                look(t, tid, VICTIM);
                Thread.sleep(1);
            }
            assertThat(t.reader().followsSwitches()).as("%s: switch records followed", py.label()).isTrue();
            assertThat(t.reader().threadStatesKept()).as("%s: idle threads' states kept", py.label()).isPositive();
            assertThat(tid[0]).as("%s: worker-%d's TID", py.label(), VICTIM).isPositive();
            long victimTid = tid[0];
            target.send("end " + VICTIM);
            Path ended = dir.resolve("ended-" + VICTIM);
            Path task = Path.of("/proc", Long.toString(target.pid()), "task", Long.toString(victimTid));
            while ((!Files.exists(ended) || Files.exists(task)) && System.nanoTime() < deadline) {
                look(t, tid, VICTIM);
            }
            assertThat(task).as("%s: worker-%d ended", py.label(), VICTIM).doesNotExist();
            long kept = t.reader().threadStatesKept();
            for (int k = 0; k < 400; k++) {
                Set<String> names = look(t, tid, VICTIM);
                for (int i = 0; i < THREADS; i++) {
                    if (i != VICTIM) {
                        assertThat(names.contains("worker-" + i) || names.contains("torn:worker-" + i))
                                .as("%s: look %d after worker-%d ended lists worker-%d: %s", py.label(), k, VICTIM, i,
                                        names)
                                .isTrue();
                    }
                }
                assertThat(names).as("%s: look %d after it ended", py.label(), k).doesNotContain("worker-" + VICTIM);
                if (k % 4 == 0) {
                    Thread.sleep(1);
                }
            }
            assertThat(t.reader().threadStatesKept()).as("%s: states kept after the end", py.label())
                    .isGreaterThan(kept);
            target.send("start " + THREADS);
            Path started = dir.resolve("started-" + THREADS);
            boolean seen = false;
            while (!seen && System.nanoTime() < deadline) {
                seen = Files.exists(started) && look(t, tid, VICTIM).contains("worker-" + THREADS);
            }
            assertThat(seen).as("%s: a thread started later is seen", py.label()).isTrue();
        }
    }
}
