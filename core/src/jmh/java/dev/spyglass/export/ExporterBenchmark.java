package dev.spyglass.export;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
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

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;

/**
 * What an exporter's {@link Exporter#accept} costs per sample, the price the sampler's consumer pays on each
 * sample (a slow consumer makes the sampler drop samples). 64 distinct stacks of {@code depth} frames on 4
 * threads, in rotation; output to a null stream. Writing the file at close is not measured.
 *
 * <pre>scripts/jmh.sh core ExporterBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ExporterBenchmark {

    @Param({"collapsed", "austin", "mojo", "jsonl", "speedscope", "pprof", "html"})
    String format;

    @Param({"30"})
    int depth;

    private StackSample[] samples;
    private Exporter exporter;
    private int next;

    @Setup(Level.Trial)
    public void samples() {
        samples = new StackSample[64];
        for (int s = 0; s < samples.length; s++) {
            List<Frame> frames = new ArrayList<>();
            for (int d = 0; d < depth; d++) {
                // shared outer frames, a distinct leaf region per stack, as in a real program
                int variant = d < depth - 3 ? 0 : s;
                frames.add(0, Frame.python("f" + d + "_" + variant, "Mod.f" + d + "_" + variant,
                        "/app/module" + (d % 5) + ".py", 10 + d));
            }
            samples[s] = new StackSample(new ThreadStack(1234, 1240 + s % 4, 0x7f00 + s % 4, "thread-" + s % 4, 0,
                    ThreadState.RUNNING, Boolean.TRUE, frames), 1_763_760_000_000_000_000L + s, 1_000_000);
        }
    }

    @Setup(Level.Iteration)
    public void open() {
        exporter = ExportFormats.installed().byName(format).orElseThrow(() -> new IllegalArgumentException(format))
                .create(OutputStream.nullOutputStream(), ExportOptions.defaults());
    }

    @TearDown(Level.Iteration)
    public void close() throws IOException {
        exporter.close();
    }

    @Benchmark
    public void accept() {
        exporter.accept(samples[next++ & 63]);
    }
}
