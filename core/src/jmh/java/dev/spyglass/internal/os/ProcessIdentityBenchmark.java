package dev.spyglass.internal.os;

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

import dev.spyglass.ProcessGoneException;

/**
 * What holding the target by identity adds to every look ({@link ProcessIdentity#check}): a pidfd
 * {@code poll(2)} (or, with {@code pidfd=false}, a read of the held {@code /proc/PID/stat}) and a
 * 16-byte {@code process_vm_readv} of {@code AT_RANDOM}; {@link #exitedOnly} without the exec check.
 *
 * <pre>
 * scripts/jmh.sh core ProcessIdentityBenchmark -f 1 -wi 3 -i 5
 * </pre>
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ProcessIdentityBenchmark {

    /** {@code false}: the held {@code /proc/PID/stat} that stands in where {@code pidfd_open} is unavailable. */
    @Param({"true", "false"})
    public boolean pidfd;

    private Process process;
    private RemoteMemory memory;
    private ProcessIdentity identity;

    @Setup(Level.Trial)
    public void start() throws Exception {
        process = new ProcessBuilder("sleep", "600").start();
        Thread.sleep(100);
        memory = RemoteMemory.open(process.pid(), ProcessMap.read(process.pid()).firstReadableAddress());
        identity = ProcessIdentity.open(process.pid(), pidfd);
        identity.watchProgram(memory);
    }

    @TearDown(Level.Trial)
    public void stop() throws InterruptedException {
        identity.close();
        memory.close();
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    /** The whole check after a look: exit (pidfd or stat) and exec (AT_RANDOM). */
    @Benchmark
    public ProcessGoneException check() {
        return identity.check();
    }

    /** Only whether the process exited: the pidfd poll, or the stat read. */
    @Benchmark
    public boolean exitedOnly() {
        return identity.exited();
    }
}
