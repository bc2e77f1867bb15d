package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.internal.kernel.SwitchRecords;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The switch-record route of the stack reader ({@link StackReader#followsSwitches}): with enough threads to open
 * it, waiting threads' stacks are taken over from look to look with no {@code /proc} read, and a thread woken at a
 * known moment is read again. Each worker, woken, parks again under the other of two callers ({@code even},
 * {@code odd}) at the same depth and line, so its thread state points to the same frame (3.11+); it creates a file
 * from inside the new caller first, so from the moment the file exists every look that finds it parked must show
 * the new caller. A stack kept although the thread was switched in shows the old one.
 */
@Execution(ExecutionMode.CONCURRENT)
class SwitchedStacksTest {
    private static final int THREADS = StackReader.SWITCH_ROUTE_THREADS + 4;
    private static final int ROUNDS = 3;
    private static final long DEADLINE_NANOS = 20_000_000_000L;

    static final String SCRIPT = String.join("\n",
            "import os, sys, threading",
            "N = int(sys.argv[1])",
            "DIR = sys.argv[2]",
            "evs = [threading.Event() for i in range(N)]",
            "def park(ev):",
            "    ev.wait()  # PARK",
            "def moved(i, n):",
            "    open(os.path.join(DIR, 'moved-%d-%d' % (i, n)), 'w').close()",
            "def even(i, n):",
            "    moved(i, n)",
            "    park(evs[i])",
            "def odd(i, n):",
            "    moved(i, n)",
            "    park(evs[i])",
            "def worker(i):",
            "    n = 0",
            "    while True:",
            "        (odd if n % 2 else even)(i, n)",
            "        evs[i].clear()",
            "        n += 1",
            "for i in range(N):",
            "    t = threading.Thread(target=worker, args=(i,), name='worker-%d' % i)",
            "    t.daemon = True",
            "    t.start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    line = sys.stdin.readline()",
            "    if not line:",
            "        break",
            "    evs[int(line)].set()",
            "");

    /** The latest looks at each worker, newest last: what a failure prints (how each stack was had). */
    private static final int HISTORY = 12;

    private static void remember(java.util.Map<Integer, java.util.ArrayDeque<String>> history, int w, Target t,
            ThreadRecord r, List<Frame> frames) {
        java.util.ArrayDeque<String> h = history.computeIfAbsent(w, k -> new java.util.ArrayDeque<>());
        if (h.size() == HISTORY) {
            h.removeFirst();
        }
        h.addLast(String.format("%d ms: %s%s slot %d tstate-kept %d; %s", System.nanoTime() / 1_000_000 % 100_000,
                frames.stream().limit(3).map(Frame::function).toList(), r.tookOver ? " TAKEN OVER" : "", r.specSlot,
                t.reader().threadStatesKept(), t.reader().describe(r.nativeThreadId)));
    }

    private final java.util.Map<Integer, java.util.ArrayDeque<String>> history = new java.util.concurrent.ConcurrentHashMap<>();
    /** Workers whose stack taken over shows the old caller after a wake the switch records did not show. */
    private final boolean[] stale = new boolean[THREADS];
    private final List<String> unseenWakes = new java.util.concurrent.CopyOnWriteArrayList<>();

    private String history(int w) {
        return String.join("\n  ", history.getOrDefault(w, new java.util.ArrayDeque<>()));
    }

    /** Looks once; checks every parked worker's caller against {@code expected}; how many were seen parked. */
    private int lookAndCheck(PythonInterpreter py, Target t, String[] expected) throws SpyglassException {
        int n = t.readThreads(SamplingMode.WALL);
        int parked = 0;
        for (int i = 0; i < n; i++) {
            ThreadRecord r = t.thread(i);
            String name = t.threadName(r);
            if (r.torn() || name == null || !name.startsWith("worker-")) {
                continue; // torn in this look (a loaded machine): the next look reads it
            }
            int w = Integer.parseInt(name.substring("worker-".length()));
            List<Frame> frames = r.frameList();
            remember(history, w, t, r, frames);
            for (int k = 0; k + 1 < frames.size(); k++) {
                if (frames.get(k).function().equals("park")) {
                    String caller = frames.get(k + 1).function();
                    if (expected[w] != null && !caller.equals(expected[w]) && r.tookOver && unseenWakes.size() < 2) {
                        // The kernel drops a switch-in now and then without a lost record (StackReader
                        // #MAX_TAKEOVER_NANOS): the woken thread goes unseen until its next switch-out, and its old
                        // stack is kept until then. Seen once in a suite under two CPU hogs (Debian 3.11, 6 Dec 2026).
                        // Allowed twice per run, only for a stack taken over, and it must be put right (below).
                        if (!stale[w]) {
                            stale[w] = true;
                            unseenWakes.add(String.format("worker-%d under %s, expected %s (%s)", w, caller,
                                    expected[w], t.reader().describe(r.nativeThreadId)));
                        }
                    } else if (expected[w] != null) {
                        assertThat(caller).as(() -> String.format("%s: worker-%d's caller of park(); its latest looks:\n  %s", py.label(), w, history(w)))
                                .isEqualTo(expected[w]);
                        stale[w] = false;
                    }
                    parked++;
                    break;
                }
            }
        }
        return parked;
    }

    @ForEachPython
    void aWokenThreadIsReadAgainWhileTheOthersAreTakenOverOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (SwitchRecords probe = SwitchRecords.open(1)) {
            // only whether this JVM may have them
        } catch (SpyglassException e) {
            Assumptions.abort("no sched_switch records here: " + e.getMessage());
        }
        Path script = PythonScripts.write("switched.py", SCRIPT);
        Path dir = Files.createTempDirectory("spyglass-switched");
        try (PythonScripts.Running target = PythonScripts.start(py, script, Integer.toString(THREADS), dir.toString());
                Target t = Target.attach(target.pid())) {
            String[] expected = new String[THREADS];
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            for (int i = 0; i < THREADS; i++) {
                while (!Files.exists(dir.resolve("moved-" + i + "-0")) && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                expected[i] = "even";
            }
            while (lookAndCheck(py, t, expected) < THREADS && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(lookAndCheck(py, t, expected)).as("%s: workers parked", py.label()).isEqualTo(THREADS);
            assertThat(t.reader().followsSwitches()).as("%s: switch records followed with %d threads", py.label(),
                    THREADS).isTrue();
            long switchLooks = t.reader().switchLooks();
            long reused = t.reader().reusedStacks();
            for (int round = 1; round <= ROUNDS; round++) {
                for (int i = 0; i < THREADS; i++) {
                    expected[i] = null; // woken: where it is until its file exists is not known
                    target.send(Integer.toString(i));
                    Path moved = dir.resolve("moved-" + i + "-" + round);
                    deadline = System.nanoTime() + DEADLINE_NANOS;
                    while (!Files.exists(moved) && System.nanoTime() < deadline) {
                        lookAndCheck(py, t, expected);
                    }
                    assertThat(moved).as("%s: worker-%d woken", py.label(), i).exists();
                    expected[i] = round % 2 == 0 ? "even" : "odd";
                    // From now on, strictly: parked under the new caller, and seen parked again within the deadline.
                    int w = i;
                    boolean seen = false;
                    while (!seen && System.nanoTime() < deadline) {
                        lookAndCheck(py, t, expected);
                        ThreadRecord r = worker(t, i);
                        seen = r != null && !r.torn() && r.frameList().stream().anyMatch(f -> f.function().equals("park"));
                    }
                    assertThat(seen).as(() -> String.format("%s: worker-%d seen parked again; its latest looks:\n  %s", py.label(), w, history(w))).isTrue();
                    for (int look = 0; look < 3; look++) {
                        lookAndCheck(py, t, expected);
                        Thread.sleep(1);
                    }
                    // A stale stack kept for an unseen wake is put right: at the thread's next switch-out (the missed
                    // switch-in inferred) or when the take-over bound runs out, whichever comes first.
                    long fixBy = System.nanoTime() + 10 * StackReader.MAX_TAKEOVER_NANOS;
                    while (stale[i] && System.nanoTime() < fixBy) {
                        lookAndCheck(py, t, expected);
                        Thread.sleep(1);
                    }
                    assertThat(stale[i]).as(() -> String.format("%s: worker-%d's stale stack put right; %s; its latest"
                            + " looks:\n  %s", py.label(), w, unseenWakes, history(w))).isFalse();
                }
            }
            System.out.printf("%s: wakes the switch records did not show: %s%n", py.label(), unseenWakes);
            // The route did the work: states from the records, stacks taken over (records lost under load
            // send threads back through /proc for a while, never all of the time).
            assertThat(t.reader().switchLooks()).as("%s: looks answered from switch records", py.label())
                    .isGreaterThan(switchLooks);
            assertThat(t.reader().reusedStacks()).as("%s: stacks taken over", py.label()).isGreaterThan(reused);
        }
    }

    /**
     * The kernel drops a switch-in now and then without a lost record, so a stack is taken over for at most
     * {@link StackReader#MAX_TAKEOVER_NANOS} after its walk: parked workers, looked at for 0.6 s, are never shown with
     * a stack taken over that was walked longer ago than that before the look began (with no bound, they are once
     * the first walk is that old). Looks slowed by load change how often each is walked, never the bound.
     */
    @ForEachPython
    void aStackTakenOverIsWalkedAgainWithinItsBoundOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        try (SwitchRecords probe = SwitchRecords.open(1)) {
            // only whether this JVM may have them
        } catch (SpyglassException e) {
            Assumptions.abort("no sched_switch records here: " + e.getMessage());
        }
        Path script = PythonScripts.write("switched.py", SCRIPT);
        Path dir = Files.createTempDirectory("spyglass-switched");
        try (PythonScripts.Running target = PythonScripts.start(py, script, Integer.toString(THREADS), dir.toString());
                Target t = Target.attach(target.pid())) {
            String[] expected = new String[THREADS];
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            while (lookAndCheck(py, t, expected) < THREADS && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            long first = System.nanoTime();
            long end = first + 6 * StackReader.MAX_TAKEOVER_NANOS;
            int looks = 0;
            int takenOver = 0;
            long oldest = 0;
            long lastLook = first;
            while ((lastLook = System.nanoTime()) < end) {
                // Before the look: the reader's own look time is later, so its bound holds against this one too.
                long before = lastLook;
                int n = t.readThreads(SamplingMode.WALL);
                looks++;
                for (int i = 0; i < n; i++) {
                    ThreadRecord r = t.thread(i);
                    String name = t.threadName(r);
                    if (!r.torn() && name != null && name.startsWith("worker-") && r.tookOver) {
                        takenOver++;
                        oldest = Math.max(oldest, before - r.walkedNanos);
                        assertThat(before - r.walkedNanos).as("%s: %s's stack taken over, walked %.1f ms before the"
                                + " look", py.label(), name, (before - r.walkedNanos) / 1e6)
                                .isLessThan(StackReader.MAX_TAKEOVER_NANOS);
                    }
                }
                Thread.sleep(5);
            }
            System.out.printf("%s: %d looks in 0.6 s, %d stacks taken over, the oldest walked %.1f ms before%n",
                    py.label(), looks, takenOver, oldest / 1e6);
            Assumptions.assumeTrue(takenOver > 0 && looks >= 10, py.label() + ": " + looks + " looks, " + takenOver
                    + " stacks taken over in 0.6 s (a starved test, or records lost all the time)");
        }
    }

    private static ThreadRecord worker(Target t, int i) {
        for (int k = 0; k < t.reader().count(); k++) {
            ThreadRecord r = t.thread(k);
            if (("worker-" + i).equals(t.threadName(r))) {
                return r;
            }
        }
        return null;
    }
}
