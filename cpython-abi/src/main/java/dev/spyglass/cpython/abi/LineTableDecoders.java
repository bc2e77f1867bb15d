package dev.spyglass.cpython.abi;

import java.util.Arrays;

/**
 * The decoders behind {@link LineTable}, one per format CPython used: {@code co_lnotab} (≤3.9,
 * unsigned line increments before 3.6), the 3.10 {@code co_linetable} and the 3.11+ location table.
 * Each follows CPython's own reader (cited per method) and never throws on a table's content: a
 * malformed table ends the decoding with a reason ({@link LineTable#malformation()}).
 */
final class LineTableDecoders {
    // 3.11+ entry codes (Include/cpython/code.h: _PyCodeLocationInfoKind).
    private static final int CODE_ONE_LINE0 = 10;
    private static final int CODE_ONE_LINE2 = 12;
    private static final int CODE_NO_COLUMNS = 13;
    private static final int CODE_LONG = 14;
    private static final int CODE_NONE = 15;

    private LineTableDecoders() {
    }

    /**
     * {@code PyCode_Addr2Line} before 3.10: {@code addr += bdelta; if (addr > addrq) break; line += ldelta;}
     * so an increment applies to every offset at or after the running address it follows.
     */
    static LineTable lnotab(LineTable.Format format, byte[] t, int firstLine, boolean signed) {
        Builder b = new Builder(t.length / 2 + 1, false);
        long addr = 0;
        long line = firstLine;
        b.add(0, firstLine);
        // A trailing odd byte is ignored, as PyCode_Addr2Line does (size = len / 2).
        for (int p = 0; p + 1 < t.length; p += 2) {
            addr += t[p] & 0xff;
            line += signed ? t[p + 1] : (t[p + 1] & 0xff);
            if (addr > Integer.MAX_VALUE) {
                b.problem = "byte offset exceeds 2^31 at table byte " + p;
                break;
            }
            if (line != (int) line) {
                b.problem = "line number " + line + " out of range at table byte " + p;
                break;
            }
            b.addOrReplace((int) addr, (int) line);
        }
        b.end = Integer.MAX_VALUE;
        return new LineTable(format, firstLine, b);
    }

    /** 3.10 {@code advance()}: zero-length entries only move the running line; -128 means "no line". */
    static LineTable linetable310(byte[] t, int firstLine) {
        Builder b = new Builder(t.length / 2 + 1, false);
        long end = 0;
        long computed = firstLine;
        int p = 0;
        for (; p + 1 < t.length; p += 2) {
            int length = t[p] & 0xff;
            int delta = t[p + 1];
            int rangeLine;
            if (delta == -128) {
                rangeLine = -1;
            } else {
                computed += delta;
                if (computed != (int) computed) {
                    b.problem = "line number " + computed + " out of range at table byte " + p;
                    break;
                }
                rangeLine = (int) computed;
            }
            if (length == 0) {
                continue;
            }
            if (end + length > Integer.MAX_VALUE) {
                b.problem = "byte offset exceeds 2^31 at table byte " + p;
                break;
            }
            b.addRange((int) end, rangeLine);
            end += length;
        }
        if (b.problem == null && p < t.length) {
            b.problem = "odd table length " + t.length + ": trailing byte ignored";
        }
        b.end = (int) end;
        return new LineTable(LineTable.Format.LINETABLE_310, firstLine, b);
    }

    /** 3.11+ {@code advance_with_locations()} (Objects/codeobject.c), one entry at a time. */
    static LineTable locationTable(byte[] t, int firstLine) {
        Builder b = new Builder(t.length, true);
        Reader r = new Reader(t);
        long end = 0;
        long computed = firstLine;
        while (r.pos < t.length) {
            int entryAt = r.pos;
            int first = t[r.pos++] & 0xff;
            if ((first & 0x80) == 0) {
                b.problem = "entry at table byte " + entryAt + " does not start with bit 7 set (0x"
                        + Integer.toHexString(first) + ")";
                break;
            }
            int code = (first >> 3) & 15;
            int length = ((first & 7) + 1) * 2;
            long line;
            long endLine;
            long column;
            long endColumn;
            try {
                switch (code) {
                    case CODE_NONE -> {
                        line = endLine = column = endColumn = -1;
                    }
                    case CODE_LONG -> {
                        computed += r.signedVarint();
                        line = computed;
                        endLine = line + r.varint();
                        column = r.varint() - 1;
                        endColumn = r.varint() - 1;
                    }
                    case CODE_NO_COLUMNS -> {
                        computed += r.signedVarint();
                        line = endLine = computed;
                        column = endColumn = -1;
                    }
                    default -> {
                        if (code >= CODE_ONE_LINE0 && code <= CODE_ONE_LINE2) {
                            computed += code - CODE_ONE_LINE0;
                            line = endLine = computed;
                            column = r.byteValue();
                            endColumn = r.byteValue();
                        } else {
                            int second = r.byteValue();
                            line = endLine = computed;
                            column = (code << 3) | (second >> 4);
                            endColumn = column + (second & 15);
                        }
                    }
                }
            } catch (TruncatedEntry e) {
                b.problem = "entry at table byte " + entryAt + ": " + e.getMessage();
                break;
            }
            if (computed != (int) computed || line != (int) line || endLine != (int) endLine) {
                b.problem = "line number out of range in entry at table byte " + entryAt;
                break;
            }
            if (end + length > Integer.MAX_VALUE) {
                b.problem = "byte offset exceeds 2^31 at table byte " + entryAt;
                break;
            }
            b.addRange((int) end, (int) line, (int) endLine, (int) column, (int) endColumn);
            end += length;
        }
        b.end = (int) end;
        return new LineTable(LineTable.Format.LOCATION_TABLE, firstLine, b);
    }

    /** Reads the continuation bytes of one 3.11+ entry. */
    private static final class Reader {
        private final byte[] t;
        int pos;

        Reader(byte[] t) {
            this.t = t;
        }

        int byteValue() throws TruncatedEntry {
            if (pos >= t.length) {
                throw new TruncatedEntry("ends inside the entry");
            }
            int v = t[pos] & 0xff;
            if ((v & 0x80) != 0) {
                // CPython's line-only walk (advance()) would take this byte as the next entry.
                throw new TruncatedEntry("byte " + pos + " inside the entry has bit 7 set (0x"
                        + Integer.toHexString(v) + ")");
            }
            pos++;
            return v;
        }

        /** 6-bit little-endian groups, bit 6 = more follow. At most 6 groups (CPython writes ≤ 32 bits). */
        long varint() throws TruncatedEntry {
            int read = byteValue();
            long val = read & 63;
            int shift = 0;
            while ((read & 64) != 0) {
                shift += 6;
                if (shift > 30) {
                    throw new TruncatedEntry("varint longer than 6 bytes at byte " + pos);
                }
                read = byteValue();
                val |= (long) (read & 63) << shift;
            }
            if (val > 0xffff_ffffL) {
                throw new TruncatedEntry("varint " + val + " exceeds 32 bits at byte " + pos);
            }
            return val;
        }

        long signedVarint() throws TruncatedEntry {
            long u = varint();
            return (u & 1) != 0 ? -(u >>> 1) : u >>> 1;
        }
    }

    private static final class TruncatedEntry extends Exception {
        private static final long serialVersionUID = 1L;

        TruncatedEntry(String message) {
            super(message, null, false, false);
        }
    }

    /** Growable parallel arrays; adjacent ranges with equal values are merged. */
    static final class Builder {
        int[] starts;
        int[] lines;
        int[] endLines;
        int[] columns;
        int[] endColumns;
        int size;
        int end;
        String problem;

        Builder(int capacity, boolean withColumns) {
            int c = Math.max(1, capacity);
            starts = new int[c];
            lines = new int[c];
            if (withColumns) {
                endLines = new int[c];
                columns = new int[c];
                endColumns = new int[c];
            }
        }

        void add(int start, int line) {
            ensure();
            starts[size] = start;
            lines[size] = line;
            size++;
        }

        /** co_lnotab: several increments at the same address add up to one line. */
        void addOrReplace(int start, int line) {
            if (size > 0 && starts[size - 1] == start) {
                lines[size - 1] = line;
                if (size > 1 && lines[size - 2] == line) {
                    size--;
                }
            } else if (size == 0 || lines[size - 1] != line) {
                add(start, line);
            }
        }

        void addRange(int start, int line) {
            if (size == 0 || lines[size - 1] != line) {
                add(start, line);
            }
        }

        void addRange(int start, int line, int endLine, int column, int endColumn) {
            if (size > 0 && lines[size - 1] == line && endLines[size - 1] == endLine
                    && columns[size - 1] == column && endColumns[size - 1] == endColumn) {
                return;
            }
            ensure();
            starts[size] = start;
            lines[size] = line;
            endLines[size] = endLine;
            columns[size] = column;
            endColumns[size] = endColumn;
            size++;
        }

        private void ensure() {
            if (size == starts.length) {
                int n = starts.length * 2;
                starts = Arrays.copyOf(starts, n);
                lines = Arrays.copyOf(lines, n);
                if (endLines != null) {
                    endLines = Arrays.copyOf(endLines, n);
                    columns = Arrays.copyOf(columns, n);
                    endColumns = Arrays.copyOf(endColumns, n);
                }
            }
        }
    }
}
