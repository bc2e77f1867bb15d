package dev.spyglass.cpython.abi;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the stack reader pays per frame: a line look-up in a cached {@link LineTable} (3.11+ location
 * table of a 20,000-code-unit function) and, on a cache miss, decoding the table or a name.
 * {@code scripts/jmh.sh cpython-abi DecoderBenchmark -f 1 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DecoderBenchmark {

    private static final PythonVersion PY312 = PythonVersion.of(3, 12, 1);

    private byte[] table;
    private LineTable lineTable;
    private int[] offsets;
    private int next;
    private StringDecoder strings;
    private MemorySegment name;

    @Setup
    public void setUp() {
        Random r = new Random(42);
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        int units = 0;
        while (units < 20_000) {
            int len = 1 + r.nextInt(4);
            units += len;
            switch (r.nextInt(4)) {
                case 0 -> { // one-line form, next line
                    t.write(0x80 | 11 << 3 | (len - 1));
                    t.write(4 + r.nextInt(40));
                    t.write(50 + r.nextInt(40));
                }
                case 1 -> { // no columns, line delta +2
                    t.write(0x80 | 13 << 3 | (len - 1));
                    t.write(4);
                }
                default -> { // short form, same line
                    t.write(0x80 | r.nextInt(10) << 3 | (len - 1));
                    t.write(r.nextInt(128));
                }
            }
        }
        table = t.toByteArray();
        lineTable = LineTable.of(PY312, table, 1);
        offsets = new int[4096];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = 2 * r.nextInt(units);
        }
        Layout layout = Layout.builder(PY312, "benchmark").set(Field.VAROBJECT_SIZE, 16).set(Field.BYTES_DATA, 32)
                .set(Field.UNICODE_LENGTH, 16).set(Field.UNICODE_STATE, 32).set(Field.UNICODE_ASCII_DATA, 40)
                .set(Field.UNICODE_COMPACT_DATA, 56).set(Field.UNICODE_DATA_PTR, 56).build();
        strings = new StringDecoder(layout, 1024);
        name = MemorySegment.ofArray(new byte[256]);
        byte[] text = "process_request_handler".getBytes(StandardCharsets.US_ASCII);
        name.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, text.length);
        name.set(ValueLayout.JAVA_INT_UNALIGNED, 32, 1 << 2 | 1 << 5 | 1 << 6);
        MemorySegment.copy(MemorySegment.ofArray(text), 0, name, 40, text.length);
    }

    @Benchmark
    public int lineLookup() {
        int off = offsets[next++ & (offsets.length - 1)];
        return lineTable.line(off);
    }

    @Benchmark
    public Location locationLookup() {
        int off = offsets[next++ & (offsets.length - 1)];
        return lineTable.location(off);
    }

    @Benchmark
    public LineTable decodeLocationTable() {
        return LineTable.of(PY312, table, 1);
    }

    @Benchmark
    public String decodeCompactAsciiName() throws MalformedObjectException {
        StringHeader h = strings.header(name);
        return strings.decodeFromPrefix(h, name);
    }
}
