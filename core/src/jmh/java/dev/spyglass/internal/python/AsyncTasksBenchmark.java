package dev.spyglass.internal.python;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.spyglass.AsyncTask;
import dev.spyglass.SamplingMode;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * What {@code --async} adds to a look at an event loop's thread: reading its task tree
 * ({@link AsyncTaskStacks#tasks}), for a program of {@code mids} tasks each gathering {@code leaves}
 * tasks that sleep (so 1 + mids × (1 + leaves) tasks, every leaf awaiting a {@code sleep} coroutine).
 * The set-up prints the remote-read system calls per look.
 *
 * <pre>
 * scripts/jmh.sh core AsyncTasksBenchmark -f 1 -wi 3 -i 5 -p version=3.14,3.15
 * </pre>
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AsyncTasksBenchmark {
    static final String SCRIPT = String.join("\n",
            "import asyncio, sys",
            "async def leaf(i):",
            "    await asyncio.sleep(3600)",
            "async def mid(i, leaves):",
            "    await asyncio.gather(*[asyncio.create_task(leaf(k), name='leaf-%d-%d' % (i, k)) for k in range(leaves)])",
            "async def main(mids, leaves):",
            "    tasks = [asyncio.create_task(mid(i, leaves), name='mid-%d' % i) for i in range(mids)]",
            "    await asyncio.sleep(0.2)",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    await asyncio.gather(*tasks)",
            "asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))",
            "");

    @Param({"3.14"})
    public String version;

    /** {@code MIDSxLEAVES}. */
    @Param({"1x1", "10x10"})
    public String tree;

    private Process process;
    private Target target;
    private AsyncTaskStacks tasks;
    private ThreadRecord loopThread;

    @Setup(Level.Trial)
    public void start() throws Exception {
        PythonInterpreter py = PythonInterpreters.available().filter(p -> !p.freeThreaded())
                .filter(p -> (p.major() + "." + p.minor()).equals(version)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no CPython " + version + " on this machine"));
        Path script = Files.createTempFile("spyglass-bench-", ".py");
        Files.writeString(script, SCRIPT);
        String[] sizes = tree.split("x");
        process = py.processBuilder(script.toString(), sizes[0], sizes[1])
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream()));
        if (!"ready".equals(out.readLine())) {
            throw new IllegalStateException("target did not start");
        }
        target = Target.attach(process.pid());
        tasks = new AsyncTaskStacks(target);
        target.readThreads(SamplingMode.WALL);
        loopThread = target.thread(0);
        int expected = 1 + Integer.parseInt(sizes[0]) * (1 + Integer.parseInt(sizes[1]));
        List<AsyncTask> seen = readTaskTree();
        if (seen == null || seen.size() != expected) {
            throw new IllegalStateException("expected " + expected + " tasks, read " + seen);
        }
        long before = target.memory().syscalls();
        for (int i = 0; i < 100; i++) {
            readTaskTree();
        }
        System.err.printf("CPython %s, %d tasks: %.1f remote-read system calls per task tree%n", target.version(),
                expected, (target.memory().syscalls() - before) / 100.0);
    }

    @TearDown(Level.Trial)
    public void stop() throws InterruptedException {
        target.close();
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    /** One read of the loop thread's task tree (its thread state and stack as of the set-up's look). */
    @Benchmark
    public List<AsyncTask> readTaskTree() throws Exception {
        return tasks.tasks(loopThread, target.threadStack(loopThread));
    }
}
