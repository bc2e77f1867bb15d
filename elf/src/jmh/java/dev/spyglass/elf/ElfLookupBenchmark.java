package dev.spyglass.elf;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
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

/**
 * What finding the interpreter costs: opening libpython and looking up {@code _PyRuntime} (target
 * &lt; 2 ms), and further look-ups on an open file (target &lt; 1 µs).
 *
 * <p>Run: {@code scripts/jmh.sh elf ElfLookupBenchmark -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ElfLookupBenchmark {

    @Param("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0")
    public String library;

    private Path path;
    private ElfFile open;
    private long runtimeAddress;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        path = Path.of(library);
        open = ElfFile.open(path);
        runtimeAddress = open.symbol("_PyRuntime").orElseThrow().value();
        open.symbol("stringlib__two_way"); // builds the .symtab index outside the measurement
        open.symbolAt(runtimeAddress);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        open.close();
    }

    /** Map the file, validate its structures, find _PyRuntime through the GNU hash table, unmap. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long openAndFindPyRuntime() throws IOException {
        try (ElfFile elf = ElfFile.open(path)) {
            return elf.symbol("_PyRuntime").orElseThrow().value();
        }
    }

    /** A .dynsym look-up through the GNU hash table on an open file. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Optional<Symbol> lookupDynamicSymbol() {
        return open.symbol("Py_Version");
    }

    /** A name the hash table rejects (mostly through the bloom filter), then the .symtab index misses. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Optional<Symbol> lookupMissingSymbol() {
        return open.symbol("no_such_symbol_here");
    }

    /** A local function only in .symtab (hash miss, then the lazily built name index). */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Optional<Symbol> lookupLocalSymbol() {
        return open.symbol("stringlib__two_way");
    }

    /** The symbol containing an address, through the sorted index. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Optional<Symbol> symbolAtAddress() {
        return open.symbolAt(runtimeAddress + 0x100);
    }
}
