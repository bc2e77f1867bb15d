package dev.spyglass.elf;

import java.util.Arrays;

import dev.spyglass.elf.UnwindTable.Cfa;
import dev.spyglass.elf.UnwindTable.Saved;

/**
 * Collects the rows of every FDE, then sorts the FDEs by address and lays their rows out in one flat
 * table: consecutive rows with the same rules merge, and a {@link Cfa#NO_INFO} row marks where an FDE
 * ends before the next one starts. FDEs that overlap an earlier one (left by linkers for discarded
 * code) lose the overlapping part. Memory grows with the rows, which the size of {@code .eh_frame} bounds.
 */
final class UnwindTableBuilder {
    private long[] addr = new long[1024];
    private byte[] cfa = new byte[1024];
    private int[] cfaOff = new int[1024];
    private byte[] ra = new byte[1024];
    private int[] raOff = new int[1024];
    private byte[] rbp = new byte[1024];
    private int[] rbpOff = new int[1024];
    private int rows;

    // Per FDE: [pcBegin, pcEnd, first row, row count]
    private long[] fdes = new long[4 * 256];
    private int fdeCount;
    private long pcBegin;
    private long pcEnd;
    private int fdeFirstRow;

    void beginFde(long begin, long end) {
        pcBegin = begin;
        pcEnd = end;
        fdeFirstRow = rows;
    }

    /** The rules from {@code loc} on; a later row at the same address replaces it. */
    void row(long loc, CfiRow r) {
        if (Long.compareUnsigned(loc, pcEnd) >= 0 || Long.compareUnsigned(loc, pcBegin) < 0) {
            return;
        }
        if (rows > fdeFirstRow && addr[rows - 1] == loc) {
            rows--;
        }
        if (rows == addr.length) {
            grow();
        }
        addr[rows] = loc;
        cfa[rows] = (byte) r.cfaKind().ordinal();
        cfaOff[rows] = r.packedCfaOffset();
        Saved raRule = CfiRow.fit(r.ra, r.raOffset);
        ra[rows] = (byte) raRule.ordinal();
        raOff[rows] = raRule == Saved.UNSUPPORTED ? 0 : (int) r.raOffset;
        Saved rbpRule = CfiRow.fit(r.rbp, r.rbpOffset);
        rbp[rows] = (byte) rbpRule.ordinal();
        rbpOff[rows] = rbpRule == Saved.UNSUPPORTED ? 0 : (int) r.rbpOffset;
        rows++;
    }

    void endFde() {
        if (rows == fdeFirstRow) {
            return;
        }
        if (4 * fdeCount + 4 > fdes.length) {
            fdes = Arrays.copyOf(fdes, fdes.length * 2);
        }
        fdes[4 * fdeCount] = pcBegin;
        fdes[4 * fdeCount + 1] = pcEnd;
        fdes[4 * fdeCount + 2] = fdeFirstRow;
        fdes[4 * fdeCount + 3] = rows - fdeFirstRow;
        fdeCount++;
    }

    private void grow() {
        int n = addr.length * 2;
        addr = Arrays.copyOf(addr, n);
        cfa = Arrays.copyOf(cfa, n);
        cfaOff = Arrays.copyOf(cfaOff, n);
        ra = Arrays.copyOf(ra, n);
        raOff = Arrays.copyOf(raOff, n);
        rbp = Arrays.copyOf(rbp, n);
        rbpOff = Arrays.copyOf(rbpOff, n);
    }

    UnwindTable build() {
        Integer[] order = new Integer[fdeCount];
        for (int i = 0; i < fdeCount; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compareUnsigned(fdes[4 * x], fdes[4 * y]));
        int cap = rows + fdeCount + 1;
        long[] a = new long[cap];
        byte[] c = new byte[cap];
        int[] co = new int[cap];
        byte[] r = new byte[cap];
        int[] ro = new int[cap];
        byte[] b = new byte[cap];
        int[] bo = new int[cap];
        int n = 0;
        long coveredTo = Long.MIN_VALUE;
        boolean haveCovered = false;
        for (int k = 0; k < fdeCount; k++) {
            int f = order[k];
            long begin = fdes[4 * f];
            long end = fdes[4 * f + 1];
            int first = (int) fdes[4 * f + 2];
            int count = (int) fdes[4 * f + 3];
            if (haveCovered && Long.compareUnsigned(end, coveredTo) <= 0) {
                continue; // wholly inside an earlier FDE
            }
            if (haveCovered && n > 0 && Long.compareUnsigned(begin, coveredTo) > 0
                    && c[n - 1] != Cfa.NO_INFO.ordinal()) {
                // A gap after the previous FDE: no information there.
                n = put(a, c, co, r, ro, b, bo, n, coveredTo, Cfa.NO_INFO, 0, Saved.UNDEFINED, 0, Saved.SAME, 0);
            }
            for (int i = first; i < first + count; i++) {
                long at = addr[i];
                if (haveCovered && Long.compareUnsigned(at, coveredTo) < 0) {
                    // Overlapping start: the earlier FDE's rules hold up to coveredTo; this row takes over there.
                    boolean nextAlsoBefore = i + 1 < first + count && Long.compareUnsigned(addr[i + 1], coveredTo) <= 0;
                    if (nextAlsoBefore) {
                        continue;
                    }
                    at = coveredTo;
                }
                n = put(a, c, co, r, ro, b, bo, n, at, Cfa.values()[cfa[i]], cfaOff[i], Saved.values()[ra[i]], raOff[i],
                        Saved.values()[rbp[i]], rbpOff[i]);
            }
            coveredTo = end;
            haveCovered = true;
        }
        if (haveCovered) {
            n = put(a, c, co, r, ro, b, bo, n, coveredTo, Cfa.NO_INFO, 0, Saved.UNDEFINED, 0, Saved.SAME, 0);
        }
        return new UnwindTable(Arrays.copyOf(a, n), Arrays.copyOf(c, n), Arrays.copyOf(co, n), Arrays.copyOf(r, n),
                Arrays.copyOf(ro, n), Arrays.copyOf(b, n), Arrays.copyOf(bo, n), fdeCount);
    }

    /** Appends a row unless it repeats the previous row's rules; a row at the previous address replaces it. */
    private static int put(long[] a, byte[] c, int[] co, byte[] r, int[] ro, byte[] b, int[] bo, int n, long at,
            Cfa cfaRule, int cfaOffset, Saved raRule, int raOffset, Saved rbpRule, int rbpOffset) {
        if (n > 0 && a[n - 1] == at) {
            n--;
        }
        if (n > 0 && c[n - 1] == cfaRule.ordinal() && co[n - 1] == cfaOffset && r[n - 1] == raRule.ordinal()
                && ro[n - 1] == raOffset && b[n - 1] == rbpRule.ordinal() && bo[n - 1] == rbpOffset) {
            return n;
        }
        a[n] = at;
        c[n] = (byte) cfaRule.ordinal();
        co[n] = cfaOffset;
        r[n] = (byte) raRule.ordinal();
        ro[n] = raOffset;
        b[n] = (byte) rbpRule.ordinal();
        bo[n] = rbpOffset;
        return n + 1;
    }
}
