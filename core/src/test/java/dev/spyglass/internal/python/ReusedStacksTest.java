package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import dev.spyglass.Frame;
import dev.spyglass.PythonScripts;
import dev.spyglass.SamplingMode;
import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * The stack reader takes a waiting thread's previous stack over when the kernel shows the thread was not put on
 * a CPU since ({@link StackReader#reusedStacks}). What that must never hide: a thread that wakes and waits again
 * somewhere else. Here the new place has the same innermost frame (the same function at the same line) at the
 * same depth, reached from another caller, so the thread state's frame pointer and data-stack top do not change
 * (3.11+: the frame sits at the same address of the same chunk): only the kernel's counters tell the stacks apart.
 * Twelve threads, so that threads past the first eight (read ahead apart) are covered too.
 */
@Execution(ExecutionMode.CONCURRENT)
class ReusedStacksTest {
    private static final int THREADS = 12;
    private static final long DEADLINE_NANOS = 20_000_000_000L;

    static final String SCRIPT = String.join("\n",
            "import sys, threading",
            "N = int(sys.argv[1])",
            "first = [threading.Event() for i in range(N)]",
            "never = threading.Event()",
            "def park(ev):",
            "    ev.wait()  # PARK",
            "def before(ev):",
            "    park(ev)",
            "def after(ev):",
            "    park(ev)",
            "def worker(i):",
            "    before(first[i])",
            "    after(never)",
            "for i in range(N):",
            "    t = threading.Thread(target=worker, args=(i,), name='worker-%d' % i)",
            "    t.daemon = True",
            "    t.start()",
            "sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "while True:",
            "    line = sys.stdin.readline()",
            "    if not line:",
            "        break",
            "    first[int(line)].set()",
            "");

    /** The caller of {@code park} for each worker (by name), null where a worker is not parked or was torn. */
    private static String[] callers(Target t, int n) {
        String[] callers = new String[THREADS];
        for (int i = 0; i < n; i++) {
            ThreadRecord r = t.thread(i);
            String name = t.threadName(r);
            if (r.torn() || !name.startsWith("worker-")) {
                continue;
            }
            List<Frame> frames = r.frameList();
            for (int k = 0; k + 1 < frames.size(); k++) {
                if (frames.get(k).function().equals("park")) {
                    callers[Integer.parseInt(name.substring("worker-".length()))] = frames.get(k + 1).function();
                    break;
                }
            }
        }
        return callers;
    }

    /** Every worker read (not torn) is parked under after() when it is one of {@code moved}, else under before(). */
    private static void assertParked(PythonInterpreter py, String[] callers, int[] moved) {
        for (int i = 0; i < THREADS; i++) {
            if (callers[i] == null) {
                continue; // torn in this look (a loaded machine): the next look reads it
            }
            boolean isMoved = false;
            for (int m : moved) {
                isMoved |= m == i;
            }
            assertThat(callers[i]).as("%s: worker-%d's caller of park()", py.label(), i).isEqualTo(isMoved ? "after" : "before");
        }
    }

    @ForEachPython
    void aThreadThatWokeAndWaitsElsewhereShowsItsNewStackOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path script = PythonScripts.write("reused.py", SCRIPT);
        try (PythonScripts.Running target = PythonScripts.start(py, script, Integer.toString(THREADS));
                Target t = Target.attach(target.pid())) {
            // Every worker parked under before() (threads are named once threading registered them).
            long deadline = System.nanoTime() + DEADLINE_NANOS;
            String[] callers;
            do {
                callers = callers(t, t.readThreads(SamplingMode.WALL));
                Thread.sleep(5);
            } while (java.util.Arrays.asList(callers).contains(null) && System.nanoTime() < deadline);
            assertThat(callers).as("%s: every worker parked under before()", py.label()).containsOnly("before");

            // The waiting threads' stacks are taken over from look to look (where the kernel keeps the counters).
            long reusedBefore = t.reader().reusedStacks();
            for (int look = 0; look < 20; look++) {
                assertParked(py, callers(t, t.readThreads(SamplingMode.WALL)), new int[0]);
                Thread.sleep(2);
            }
            Path own = Path.of("/proc/thread-self/schedstat");
            boolean countersKept = Files.exists(own) && Long.parseLong(Files.readString(own).trim().split("\\s+")[2]) > 0;
            if (countersKept) {
                assertThat(t.reader().reusedStacks()).as("%s: stacks taken over", py.label()).isGreaterThan(reusedBefore);
            }

            // Wake one thread among the first eight and one after them: each parks again under after().
            int[] moved = {2, 10};
            for (int i : moved) {
                target.send(Integer.toString(i));
            }
            deadline = System.nanoTime() + DEADLINE_NANOS;
            do {
                callers = callers(t, t.readThreads(SamplingMode.WALL));
                Thread.sleep(2);
            } while (!("after".equals(callers[2]) && "after".equals(callers[10])) && System.nanoTime() < deadline);
            for (int i = 0; i < THREADS; i++) {
                assertThat(callers[i]).as("%s: worker-%d's caller of park()", py.label(), i)
                        .isEqualTo(i == 2 || i == 10 ? "after" : "before");
            }
            // And it stays seen there while the stacks are taken over again.
            for (int look = 0; look < 20; look++) {
                assertParked(py, callers(t, t.readThreads(SamplingMode.WALL)), moved);
                Thread.sleep(2);
            }
        }
    }
}
