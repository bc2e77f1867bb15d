package dev.spyglass.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;

/** Bounded searches inside a section's bytes. */
final class ByteSearch {
    private static final int CHUNK = 1 << 16;
    private static final int MAX_STRING = 256;
    private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+\\.\\d+((a|b|rc)\\d+)?\\+?( .*)?", Pattern.DOTALL);

    private ByteSearch() {
    }

    /**
     * The first offset {@code >= from} where {@code pattern} occurs entirely inside {@code [from, end)},
     * or -1. Copies the window in chunks to the heap: a plain loop there beats per-byte segment reads.
     */
    static long indexOf(MemorySegment data, byte[] pattern, long from, long end) {
        int m = pattern.length;
        if (m == 0) {
            return from <= end ? from : -1;
        }
        if (end - from < m) {
            return -1;
        }
        byte first = pattern[0];
        byte[] buf = new byte[(int) Math.min(CHUNK + m - 1, end - from)];
        for (long base = from; end - base >= m; base += CHUNK) {
            int len = (int) Math.min(buf.length, end - base);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, base, buf, 0, len);
            int lastStart = Math.min(CHUNK, len - m + 1);
            for (int i = 0; i < lastStart; i++) {
                if (buf[i] != first) {
                    continue;
                }
                int k = 1;
                while (k < m && buf[i + k] == pattern[k]) {
                    k++;
                }
                if (k == m) {
                    return base + i;
                }
            }
        }
        return -1;
    }

    static Optional<String> findVersionString(MemorySegment data, byte[] prefix, int maxMatches) {
        long size = data.byteSize();
        String midString = null;
        long from = 0;
        for (int matches = 0; matches < maxMatches; matches++) {
            long at = indexOf(data, prefix, from, size);
            if (at < 0) {
                break;
            }
            from = at + 1;
            String s = asciiString(data, at, size);
            if (s != null && VERSION.matcher(s).matches()) {
                boolean startsString = at == 0 || data.get(ValueLayout.JAVA_BYTE, at - 1) == 0;
                if (startsString) {
                    return Optional.of(s);
                }
                if (midString == null) {
                    midString = s; // e.g. the tail of "python3.11": only if no string starts with the prefix
                }
            }
        }
        return Optional.ofNullable(midString);
    }

    /** The printable ASCII string at {@code at} up to its NUL, or null if not printable or longer than 256. */
    private static String asciiString(MemorySegment data, long at, long size) {
        long limit = Math.min(size, at + MAX_STRING + 1);
        for (long i = at; i < limit; i++) {
            byte c = data.get(ValueLayout.JAVA_BYTE, i);
            if (c == 0) {
                byte[] bytes = new byte[(int) (i - at)];
                MemorySegment.copy(data, ValueLayout.JAVA_BYTE, at, bytes, 0, bytes.length);
                return new String(bytes, StandardCharsets.US_ASCII);
            }
            if (c < 0x20 || c > 0x7e) {
                return null;
            }
        }
        return null;
    }
}
