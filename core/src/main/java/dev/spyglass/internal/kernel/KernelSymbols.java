package dev.spyglass.internal.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The kernel's text symbols from {@code /proc/kallsyms}, read once, to name the addresses of a kernel
 * callchain. Memory stays compact (~122k symbols on Linux 6.18 with modules: one {@code long[]} of
 * addresses, the names as ASCII in one {@code byte[]} with {@code int[]} offsets, and a {@code String}
 * made only for a symbol that is asked for).
 *
 * <p>Without {@code CAP_SYSLOG} (and {@code kernel.kptr_restrict} &gt;= 1) the kernel shows every address
 * as zero: then {@link #available()} is false and {@link #nameOf} always returns null.
 */
public final class KernelSymbols {
    /** Whatever is beyond the last symbol by more than this is not named after it (module data, etc.). */
    private static final long MAX_DISTANCE = 1L << 20;

    private final long[] addresses;
    private final int[] nameStart; // names of symbol i: bytes [nameStart[i], nameStart[i + 1])
    private final byte[] names;
    private final String[] made; // names already asked for
    private final int count;

    private KernelSymbols(long[] addresses, int[] nameStart, byte[] names, int count) {
        this.addresses = addresses;
        this.nameStart = nameStart;
        this.names = names;
        this.count = count;
        this.made = new String[count];
    }

    /** Reads {@code /proc/kallsyms}; an unreadable file gives an empty (unavailable) table. */
    public static KernelSymbols load() {
        return load(Path.of("/proc/kallsyms"));
    }

    /** Reads a file in {@code /proc/kallsyms} format; an unreadable file gives an empty table. */
    public static KernelSymbols load(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            return parse(r);
        } catch (IOException | RuntimeException e) {
            return new KernelSymbols(new long[0], new int[1], new byte[0], 0);
        }
    }

    /**
     * Parses {@code /proc/kallsyms} lines ({@code "ffffffff81234560 T vfs_read"}, a module's with
     * {@code "\t[ext4]"} after the name). Keeps text symbols ({@code t}/{@code T}) and weak ones
     * ({@code w}/{@code W}) that lie within the text symbols' range (kallsyms does not say whether a weak
     * symbol is code). All-zero addresses mean "hidden": the table is then empty.
     */
    static KernelSymbols parse(Reader in) throws IOException {
        BufferedReader r = in instanceof BufferedReader b ? b : new BufferedReader(in);
        long[] addr = new long[1 << 14];
        int[] start = new int[(1 << 14) + 1];
        boolean[] weak = new boolean[1 << 14];
        byte[] blob = new byte[1 << 18];
        int n = 0;
        int used = 0;
        long lowText = -1; // unsigned minimum/maximum of t/T addresses
        long highText = 0;
        String line;
        while ((line = r.readLine()) != null) {
            int sp1 = line.indexOf(' ');
            if (sp1 <= 0 || sp1 + 3 >= line.length() || line.charAt(sp1 + 2) != ' ') {
                continue;
            }
            char type = line.charAt(sp1 + 1);
            boolean text = type == 't' || type == 'T';
            if (!text && type != 'w' && type != 'W') {
                continue;
            }
            long a;
            try {
                a = Long.parseUnsignedLong(line, 0, sp1, 16);
            } catch (NumberFormatException e) {
                continue;
            }
            if (a == 0) {
                continue; // hidden (no CAP_SYSLOG), or a weak symbol nobody defined
            }
            int nameFrom = sp1 + 3;
            int nameTo = line.indexOf('\t', nameFrom); // module symbols: "name\t[module]"
            if (nameTo < 0) {
                nameTo = line.length();
            }
            if (nameTo == nameFrom) {
                continue;
            }
            if (text) {
                lowText = Long.compareUnsigned(a, lowText) < 0 ? a : lowText;
                highText = Long.compareUnsigned(a, highText) > 0 ? a : highText;
            }
            if (n == addr.length) {
                addr = Arrays.copyOf(addr, n * 2);
                start = Arrays.copyOf(start, n * 2 + 1);
                weak = Arrays.copyOf(weak, n * 2);
            }
            int len = nameTo - nameFrom;
            if (used + len > blob.length) {
                blob = Arrays.copyOf(blob, Math.max(blob.length * 2, used + len));
            }
            for (int i = 0; i < len; i++) {
                blob[used + i] = (byte) line.charAt(nameFrom + i);
            }
            addr[n] = a;
            start[n] = used;
            weak[n] = !text;
            used += len;
            n++;
        }
        return build(addr, start, weak, blob, n, used, lowText, highText);
    }

    private static KernelSymbols build(long[] addr, int[] start, boolean[] weak, byte[] blob, int n, int used,
            long lowText, long highText) {
        // Keep t/T, and w/W only inside the text range; sort by (unsigned) address if needed.
        Integer[] order = new Integer[n];
        int kept = 0;
        boolean sorted = true;
        for (int i = 0; i < n; i++) {
            if (weak[i] && (Long.compareUnsigned(addr[i], lowText) < 0 || Long.compareUnsigned(addr[i], highText) > 0)) {
                continue;
            }
            if (kept > 0 && Long.compareUnsigned(addr[order[kept - 1]], addr[i]) > 0) {
                sorted = false;
            }
            order[kept++] = i;
        }
        if (!sorted) {
            final long[] a = addr;
            Arrays.sort(order, 0, kept, Comparator.comparing(i -> a[i], Long::compareUnsigned));
        }
        long[] addresses = new long[kept];
        int[] nameStart = new int[kept + 1];
        byte[] names = new byte[used];
        int pos = 0;
        for (int k = 0; k < kept; k++) {
            int i = order[k];
            int end = i + 1 < n ? start[i + 1] : used;
            int len = end - start[i];
            addresses[k] = addr[i];
            nameStart[k] = pos;
            System.arraycopy(blob, start[i], names, pos, len);
            pos += len;
        }
        nameStart[kept] = pos;
        return new KernelSymbols(addresses, nameStart, Arrays.copyOf(names, pos), kept);
    }

    /** Whether any symbol has a real address (false without the right to see kernel addresses). */
    public boolean available() {
        return count > 0;
    }

    /** How many symbols the table holds. */
    public int size() {
        return count;
    }

    /**
     * The name of the symbol at or below {@code address} (the function it lies in), or null when the
     * table is empty, the address is below the first symbol or more than 1 MiB beyond the last.
     */
    public String nameOf(long address) {
        int i = indexOf(address);
        if (i < 0) {
            return null;
        }
        String s = made[i];
        if (s == null) {
            s = new String(names, nameStart[i], nameStart[i + 1] - nameStart[i], StandardCharsets.ISO_8859_1);
            made[i] = s;
        }
        return s;
    }

    /** The start address of the symbol {@link #nameOf} names for {@code address}, or 0 when none. */
    public long startOf(long address) {
        int i = indexOf(address);
        return i < 0 ? 0 : addresses[i];
    }

    private int indexOf(long address) {
        if (count == 0) {
            return -1;
        }
        int lo = 0;
        int hi = count - 1;
        if (Long.compareUnsigned(address, addresses[0]) < 0) {
            return -1;
        }
        while (lo < hi) { // the last index with addresses[i] <= address
            int mid = (lo + hi + 1) >>> 1;
            if (Long.compareUnsigned(addresses[mid], address) <= 0) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (lo == count - 1 && Long.compareUnsigned(address - addresses[lo], MAX_DISTANCE) > 0) {
            return -1;
        }
        return lo;
    }
}
