package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Garbage in, bounded result or a clear {@link MalformedObjectException} out: random and half-structured
 * line tables (huge varints, truncated entries, absurd line deltas) and object headers (random state
 * words, lengths, pointers), with a fixed seed so a failure reproduces. Any other exception fails.
 */
class DecoderFuzzTest {

    private static final long SEED = 0x5eed_1e55_0f5eL;

    @Test
    void lineTablesEndBoundedOnGarbage() {
        Random r = new Random(SEED);
        LineTable.Format[] formats = LineTable.Format.values();
        int malformed = 0;
        int wellFormed = 0;
        for (int i = 0; i < 50_000; i++) {
            byte[] t = randomTable(r);
            LineTable.Format f = formats[i % formats.length];
            int first = switch (r.nextInt(4)) {
                case 0 -> r.nextInt();
                case 1 -> Integer.MAX_VALUE - r.nextInt(300);
                default -> r.nextInt(100_000);
            };
            LineTable lt;
            try {
                lt = LineTable.of(f, t, first);
            } catch (RuntimeException e) {
                throw new AssertionError(f + " table " + java.util.HexFormat.of().formatHex(t) + " threw", e);
            }
            // Plain checks in the loops: AssertJ per iteration would dominate the run time.
            check(lt.rangeCount() <= t.length + 1, lt, "more ranges than table bytes");
            if (f == LineTable.Format.LOCATION_TABLE) {
                check(lt.codeEnd() <= 16L * t.length, lt, "code end beyond 8 units per entry");
            } else if (f == LineTable.Format.LINETABLE_310) {
                check(lt.codeEnd() <= 255L * (t.length / 2), lt, "code end beyond 255 bytes per pair");
            }
            for (int k = 0; k < 8; k++) {
                int off = switch (k) {
                    case 0 -> Integer.MIN_VALUE;
                    case 1 -> Integer.MAX_VALUE;
                    case 2 -> -2;
                    case 3 -> r.nextInt();
                    default -> r.nextInt(Math.max(1, lt.codeEnd() + 4));
                };
                int line = lt.line(off);
                Location loc = lt.location(off);
                check(loc.line() == line, lt, "location(" + off + ") " + loc + " but line " + line);
            }
            if (lt.malformation().isPresent()) {
                malformed++;
                try {
                    LineTable.decode(versionOf(f), t, first);
                    if (f == LineTable.Format.of(versionOf(f))) {
                        fail("decode accepted a table of() found malformed: " + lt);
                    }
                } catch (MalformedObjectException e) {
                    check(e.getMessage().contains("malformed"), lt, e.getMessage());
                }
            } else {
                wellFormed++;
            }
        }
        assertThat(malformed).as("malformed tables seen").isGreaterThan(1000);
        assertThat(wellFormed).as("well-formed tables seen").isGreaterThan(1000);
    }

    private static void check(boolean ok, Object subject, String problem) {
        if (!ok) {
            fail(problem + ": " + subject);
        }
    }

    private static PythonVersion versionOf(LineTable.Format f) {
        return switch (f) {
            case LNOTAB_UNSIGNED -> PythonVersion.of(2, 7, 18);
            case LNOTAB_SIGNED -> PythonVersion.of(3, 8, 0);
            case LINETABLE_310 -> PythonVersion.of(3, 10, 0);
            case LOCATION_TABLE -> PythonVersion.of(3, 12, 0);
        };
    }

    /** Uniform bytes, or entry-shaped bytes (bit 7 on entry starts) with long varint runs and truncation. */
    private static byte[] randomTable(Random r) {
        int n = r.nextInt(97);
        byte[] t = new byte[n];
        switch (r.nextInt(3)) {
            case 0 -> r.nextBytes(t);
            case 1 -> {
                for (int i = 0; i < n; i++) {
                    if (r.nextInt(4) == 0) {
                        t[i] = (byte) (0x80 | r.nextInt(128));
                    } else {
                        t[i] = (byte) (r.nextBoolean() ? 0x40 | r.nextInt(64) : r.nextInt(64));
                    }
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    t[i] = (byte) (r.nextInt(8) == 0 ? 0xf0 | r.nextInt(16) : 0x7f);
                }
            }
        }
        return t;
    }

    @Test
    void stringHeadersEndBoundedOnGarbage() {
        Random r = new Random(SEED);
        List<Layout> layouts = List.of(StringDecoderTest.layout27(),
                StringDecoderTest.layout311(PythonVersion.of(3, 6, 15)),
                StringDecoderTest.layout311(PythonVersion.of(3, 11, 7)),
                StringDecoderTest.layout312(PythonVersion.of(3, 12, 1)),
                StringDecoderTest.layout312(PythonVersion.of(3, 14, 0)),
                StringDecoderTest.layout314t());
        int headers = 0;
        int rejectedHeaders = 0;
        int decoded = 0;
        int rejectedChars = 0;
        for (int i = 0; i < 50_000; i++) {
            Layout l = layouts.get(i % layouts.size());
            int cap = 1 + r.nextInt(64);
            StringDecoder d = new StringDecoder(l, cap, r.nextBoolean() ? 2 : 4);
            byte[] raw = new byte[96 + r.nextInt(160)];
            r.nextBytes(raw);
            MemorySegment obj = MemorySegment.ofArray(raw);
            if (r.nextBoolean()) {
                // Half-structured: a small length and a state word using only the defined low bits.
                long lengthAt = l.has(Field.UNICODE_LENGTH) ? l.offset(Field.UNICODE_LENGTH) : l.offset(Field.VAROBJECT_SIZE);
                obj.set(ValueLayout.JAVA_LONG_UNALIGNED, lengthAt, r.nextInt(80) - 4);
                if (l.has(Field.UNICODE_STATE)) {
                    obj.set(ValueLayout.JAVA_INT_UNALIGNED, l.offset(Field.UNICODE_STATE), r.nextInt(1 << 14));
                } else {
                    obj.set(ValueLayout.JAVA_INT_UNALIGNED, l.offset(Field.BYTES_DATA) - 4, r.nextInt(4));
                }
            }
            StringHeader h;
            try {
                h = switch (r.nextInt(3)) {
                    case 0 -> d.bytesHeader(obj, cap);
                    case 1 -> l.version().major() == 2 ? d.unicode27Header(obj) : d.header(obj);
                    default -> d.header(obj);
                };
                headers++;
            } catch (MalformedObjectException e) {
                check(!e.getMessage().isBlank(), l, "blank message");
                rejectedHeaders++;
                continue;
            }
            check(h.length() >= 0 && h.byteCount() >= 0 && h.byteCount() <= cap * 4, h, "unbounded header");
            byte[] chars;
            if (h.isInline() && h.inlineOffset() + h.byteCount() <= raw.length) {
                chars = obj.asSlice(h.inlineOffset(), h.byteCount()).toArray(ValueLayout.JAVA_BYTE);
            } else {
                chars = new byte[h.byteCount()];
                r.nextBytes(chars);
            }
            try {
                if (h.kind() == StringKind.BYTES && r.nextBoolean()) {
                    check(d.bytesContent(h, MemorySegment.ofArray(chars)).length == h.byteCount(), h, "bytes size");
                } else {
                    String s = d.decode(h, MemorySegment.ofArray(chars));
                    check(s.length() <= 2 * cap + 1, h, "text longer than the cap: " + s.length());
                }
                decoded++;
            } catch (MalformedObjectException e) {
                check(!e.getMessage().isBlank(), h, "blank message");
                rejectedChars++;
            }
        }
        assertThat(headers).as("headers accepted").isGreaterThan(2_500);
        assertThat(rejectedHeaders).as("headers rejected").isGreaterThan(2_500);
        assertThat(decoded).as("decoded").isGreaterThan(2_500);
        assertThat(rejectedChars).as("characters rejected").isGreaterThan(100);
    }
}
