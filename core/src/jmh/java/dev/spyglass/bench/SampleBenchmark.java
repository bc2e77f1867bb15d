package dev.spyglass.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.AuxCounters;
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

import dev.spyglass.Sampler;
import dev.spyglass.SamplingMode;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * What one sample costs: a live target whose main thread sleeps at the bottom of a 100-frame stack.
 * {@link #sampleDeepStack} reads every thread once and builds the {@link StackSample} the sampler would
 * emit (run with {@code -prof gc}: the steady state allocates only the sample). {@link #endToEnd} runs a
 * sampling session at the smallest interval for one second and counts the samples delivered.
 *
 * <pre>
 * scripts/jmh.sh core SampleBenchmark -prof gc -f 1 -wi 3 -i 5
 * scripts/jmh.sh core SampleBenchmark -p version=3.11,3.12,3.13,3.14,2.7,3.9
 * </pre>
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SampleBenchmark {

    /** {@code major.minor} of the interpreter; the first one found (pyenv first) is used. */
    @Param({"3.12"})
    public String version;

    /** Sampling interval of {@link #endToEnd}, µs (10 is the smallest the sampler accepts). */
    @Param({"10"})
    public long intervalMicros;

    /** Python frames of the sampled stack. */
    @Param({"100"})
    public int depth;

    private Process process;
    private Target target;

    private static final String SCRIPT = String.join("\n",
            "import sys, time",
            "def leaf():",
            "    sys.stdout.write('ready\\n'); sys.stdout.flush()",
            "    while True:",
            "        time.sleep(1)",
            "def recurse(n):",
            "    if n == 0:",
            "        leaf()",
            "    else:",
            "        recurse(n - 1)",
            "recurse(int(sys.argv[1]))",
            "");

    @Setup(Level.Trial)
    public void start() throws Exception {
        PythonInterpreter py = PythonInterpreters.available()
                .filter(p -> (p.major() + "." + p.minor()).equals(version)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no CPython " + version + " on this machine"));
        Path script = Files.createTempFile("spyglass-bench-", ".py");
        Files.writeString(script, SCRIPT);
        // leaf + (depth - 2) recurse frames... + <module>: depth frames in all.
        process = py.processBuilder(script.toString(), Integer.toString(depth - 3))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream()));
        if (!"ready".equals(out.readLine())) {
            throw new IllegalStateException("target did not start");
        }
        Thread.sleep(100);
        target = Target.attach(process.pid());
        int n = target.readThreads(SamplingMode.WALL);
        if (n != 1 || target.thread(0).depth() != depth) {
            throw new IllegalStateException("expected one thread with " + depth + " frames, got " + n + " threads, "
                    + (n > 0 ? target.thread(0).depth() + " frames" : ""));
        }
        long before = target.memory().syscalls();
        for (int i = 0; i < 100; i++) {
            target.readThreads(SamplingMode.WALL);
        }
        System.err.printf("CPython %s, %d frames: %.2f remote-read system calls per look%n", target.version(), depth,
                (target.memory().syscalls() - before) / 100.0);
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException, InterruptedException {
        if (target != null) {
            target.close();
        }
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    /** One look at every thread and the samples the sampler would emit. */
    @Benchmark
    @BenchmarkMode({Mode.AverageTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public StackSample sampleDeepStack() throws Exception {
        int n = target.readThreads(SamplingMode.WALL);
        StackSample last = null;
        for (int i = 0; i < n; i++) {
            ThreadRecord t = target.thread(i);
            last = new StackSample(target.threadStack(t), 0, 1);
        }
        return last;
    }

    /** Calibration: one 8-byte process_vm_readv of the target (the unit every sample pays several of). */
    @Benchmark
    @BenchmarkMode({Mode.AverageTime})
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long readOneWord() throws Exception {
        return target.memory().readLong(target.interpreter().headAddress());
    }

    /** Samples delivered by a session at the smallest interval, per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Delivered {
        public long samples;
        public long ticks;
        public long torn;
        /** Total lateness of ticks against their schedule, µs. */
        public long behindMicros;
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long endToEnd(Delivered delivered) throws Exception {
        Sampler sampler = Sampler.builder().interval(Duration.ofNanos(intervalMicros * 1000)).duration(Duration.ofSeconds(1))
                .queueCapacity(1 << 20).build();
        List<StackSample> sink = new ArrayList<>(1 << 16);
        try (SamplingSession s = sampler.attach(process.pid())) {
            s.forEach(x -> {
                if (sink.size() < (1 << 16)) {
                    sink.add(x);
                }
            });
            delivered.samples += s.stats().samples();
            delivered.ticks += s.stats().ticks();
            delivered.torn += s.stats().tornSamples();
            delivered.behindMicros += s.stats().timeBehindSchedule().toNanos() / 1000;
        }
        return sink.size();
    }
}
