package dev.spyglass.cpython.abi;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Maps bytecode offsets of one code object to source lines (and, from 3.11, end lines and columns),
 * giving exactly what the interpreter itself reports for that offset.
 *
 * <p>The table is decoded once, when the {@code LineTable} is made, into sorted arrays; each look-up
 * is a binary search (O(log n), no allocation). Instances are immutable and safe to share between
 * threads: cache one per code object.
 *
 * <h2>Formats and the CPython function each look-up reproduces</h2>
 * <ul>
 *   <li>2.7 – 3.5 {@code co_lnotab}: (byte increment, line increment) pairs, both unsigned.
 *       {@link #line} equals {@code PyCode_Addr2Line(co, offset)} and {@code dis.findlinestarts}.</li>
 *   <li>3.6 – 3.9 {@code co_lnotab}: the same with signed line increments (negative deltas for
 *       decorators, loops, multi-line expressions).</li>
 *   <li>3.10 {@code co_linetable} (PEP 626): (byte length, signed line delta) pairs; a delta of -128
 *       marks a range without a line. {@link #line} equals {@code PyCode_Addr2Line} and the ranges of
 *       {@code co.co_lines()}, where a {@code None} line is reported as {@code -1}.</li>
 *   <li>3.11+ location table ({@code co_linetable}, {@code Objects/locations.md}): one entry per run
 *       of 1 – 8 code units with line, end line and columns. {@link #location} equals the tuple
 *       {@code co.co_positions()} yields for that code unit (CACHE entries included), {@code None}
 *       as {@code -1}; {@link #line} equals {@code PyCode_Addr2Line} and {@code co.co_lines()}.</li>
 * </ul>
 *
 * <h2>Which offset to pass</h2>
 * Always a <em>byte</em> offset into the bytecode. CPython computes a frame's line as
 * {@code PyCode_Addr2Line(code, lasti_in_bytes)}; pass the same value:
 * <ul>
 *   <li>2.7 – 3.9: {@code f_lasti} (already bytes); -1 in a frame that has not started.</li>
 *   <li>3.10: {@code f_lasti * 2} ({@code f_lasti} counts code units); see {@link #byteOffsetOfLasti}.</li>
 *   <li>3.11, 3.12: {@code prev_instr - co_code_adaptive} in bytes. {@code prev_instr} points AT the
 *       last instruction started (possibly an inline CACHE entry or an instruction jumped over), and
 *       is one code unit before the code (offset -2) in a frame that has not started.
 *       {@code _PyInterpreterFrame_GetLine} (v3.11.0, v3.12.0, Python/frame.c) is
 *       {@code PyCode_Addr2Line(f_code, _PyInterpreterFrame_LASTI(frame) * sizeof(_Py_CODEUNIT))}
 *       with {@code _PyInterpreterFrame_LASTI = prev_instr - _PyCode_CODE(f_code)}.</li>
 *   <li>3.13, 3.14: {@code instr_ptr - co_code_adaptive} in bytes. {@code instr_ptr} points at the
 *       instruction currently executing (or about to begin); {@code PyUnstable_InterpreterFrame_GetLine}
 *       (v3.13.0, v3.14.0) is the same expression with {@code instr_ptr}, no adjustment. On 3.14
 *       free-threaded builds subtract the start of the thread's bytecode copy
 *       ({@code _PyFrame_GetBytecode}, {@code tlbc_index}) instead of {@code co_code_adaptive}.</li>
 * </ul>
 * {@link #byteOffsetOfInstruction} does that subtraction with the checks a sampler needs.
 *
 * <h2>Offsets outside the code</h2>
 * A negative offset gives {@link #firstLine()} (all versions: {@code PyCode_Addr2Line}'s rule for a
 * frame that has not started), and on 3.11+ {@link #location} gives
 * {@code (firstLine, firstLine, 0, 0)} like {@code PyCode_Addr2Location}. An offset at or past the end
 * of the table gives {@code -1} / {@link Location#UNKNOWN} on 3.10+; {@code co_lnotab} does not know
 * the code length, so 2.7 – 3.9 give the last line, as {@code PyCode_Addr2Line} does.
 *
 * <h2>Malformed tables</h2>
 * {@link #of} never throws on table content: it decodes up to the first malformed entry (an entry not
 * starting with bit 7 set, a truncated or oversized varint, a line outside {@code int}) and reports
 * offsets after it as unknown; {@link #malformation()} says what was wrong. {@link #decode} throws
 * {@link MalformedObjectException} instead. Work and memory are proportional to the table's length,
 * never to values inside it.
 */
public final class LineTable {

    /** The encodings CPython used for line tables. */
    public enum Format {
        /** {@code co_lnotab} with unsigned line increments: 2.7, 3.0 – 3.5. */
        LNOTAB_UNSIGNED,
        /** {@code co_lnotab} with signed line increments: 3.6 – 3.9. */
        LNOTAB_SIGNED,
        /** PEP 626 {@code co_linetable}: 3.10. */
        LINETABLE_310,
        /** Location table with end lines and columns: 3.11 and later. */
        LOCATION_TABLE;

        /** The format {@code version} uses. */
        public static Format of(PythonVersion version) {
            Objects.requireNonNull(version, "version");
            if (version.major() < 3 || (version.major() == 3 && version.minor() < 6)) {
                return LNOTAB_UNSIGNED;
            }
            if (version.minor() < 10 && version.major() == 3) {
                return LNOTAB_SIGNED;
            }
            if (version.is(3, 10)) {
                return LINETABLE_310;
            }
            return LOCATION_TABLE;
        }
    }

    private final Format format;
    private final int firstLine;
    /** Range starts (byte offsets), strictly ascending, starts[0] == 0 when not empty. */
    private final int[] starts;
    private final int[] lines;
    /** 3.11+ only, else null. */
    private final int[] endLines;
    private final int[] columns;
    private final int[] endColumns;
    /** Exclusive end of the last range (3.10+); Integer.MAX_VALUE for co_lnotab. */
    private final int end;
    private final String malformation;

    LineTable(Format format, int firstLine, LineTableDecoders.Builder b) {
        this.format = format;
        this.firstLine = firstLine;
        this.starts = Arrays.copyOf(b.starts, b.size);
        this.lines = Arrays.copyOf(b.lines, b.size);
        if (b.endLines != null) {
            this.endLines = Arrays.copyOf(b.endLines, b.size);
            this.columns = Arrays.copyOf(b.columns, b.size);
            this.endColumns = Arrays.copyOf(b.endColumns, b.size);
        } else {
            this.endLines = null;
            this.columns = null;
            this.endColumns = null;
        }
        this.end = b.end;
        this.malformation = b.problem;
    }

    /**
     * Decodes {@code table} in the format {@code version} uses. Never throws on the table's content (see
     * the class comment); check {@link #malformation()} when torn reads matter.
     *
     * @param version   the interpreter's version (picks the format; see {@link Format#of})
     * @param table     {@code co_lnotab} (≤3.9) or {@code co_linetable} (3.10+), as read from the
     *                  bytes object; not retained
     * @param firstLine {@code co_firstlineno}
     */
    public static LineTable of(PythonVersion version, byte[] table, int firstLine) {
        return of(Format.of(version), table, firstLine);
    }

    /** Like {@link #of(PythonVersion, byte[], int)} with an explicit format. */
    public static LineTable of(Format format, byte[] table, int firstLine) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(table, "table");
        return switch (format) {
            case LNOTAB_UNSIGNED -> LineTableDecoders.lnotab(format, table, firstLine, false);
            case LNOTAB_SIGNED -> LineTableDecoders.lnotab(format, table, firstLine, true);
            case LINETABLE_310 -> LineTableDecoders.linetable310(table, firstLine);
            case LOCATION_TABLE -> LineTableDecoders.locationTable(table, firstLine);
        };
    }

    /**
     * Like {@link #of(PythonVersion, byte[], int)}, but a malformed table is an error.
     *
     * @throws MalformedObjectException when the table is not a well-formed table of that format
     */
    public static LineTable decode(PythonVersion version, byte[] table, int firstLine)
            throws MalformedObjectException {
        LineTable t = of(version, table, firstLine);
        if (t.malformation != null) {
            throw new MalformedObjectException("line table (" + t.format + ", " + table.length + " bytes, first line "
                    + firstLine + ") is malformed: " + t.malformation);
        }
        return t;
    }

    /** The format this table was decoded as. */
    public Format format() {
        return format;
    }

    /** {@code co_firstlineno}, reported for negative offsets. */
    public int firstLine() {
        return firstLine;
    }

    /**
     * The exclusive end, in bytes, of the bytecode the table describes (3.10+: the sum of the entry
     * lengths, equal to {@code len(co_code)} for a well-formed table), or -1 for {@code co_lnotab},
     * which does not record it.
     */
    public int codeEnd() {
        return end == Integer.MAX_VALUE ? -1 : end;
    }

    /** Why decoding stopped early, or empty when the whole table was well formed. */
    public Optional<String> malformation() {
        return Optional.ofNullable(malformation);
    }

    /**
     * The line executing at {@code instructionByteOffset}, exactly as {@code PyCode_Addr2Line} reports
     * it: {@link #firstLine()} for a negative offset; {@code -1} for an instruction without a line
     * (3.10+) or an offset at or past {@link #codeEnd()} (3.10+). See the class comment for which
     * offset to pass per version.
     *
     * @param instructionByteOffset a byte offset into the bytecode (any value)
     */
    public int line(int instructionByteOffset) {
        if (instructionByteOffset < 0) {
            return firstLine;
        }
        int i = indexOf(instructionByteOffset);
        return i < 0 ? -1 : lines[i];
    }

    /**
     * The source position of the instruction at {@code instructionByteOffset}: on 3.11+ the
     * {@code co_positions()} tuple for that code unit ({@code -1} for {@code None}); on 2.7 – 3.10 only
     * the line ({@link Location#ofLine}). Negative offsets give the first line (3.11+: with columns
     * {@code 0, 0}, as {@code PyCode_Addr2Location}); offsets past the end give
     * {@link Location#UNKNOWN} (3.10+).
     *
     * @param instructionByteOffset a byte offset into the bytecode (any value)
     */
    public Location location(int instructionByteOffset) {
        if (endLines == null) {
            return Location.ofLine(line(instructionByteOffset));
        }
        if (instructionByteOffset < 0) {
            return new Location(firstLine, firstLine, 0, 0);
        }
        int i = indexOf(instructionByteOffset);
        if (i < 0) {
            return Location.UNKNOWN;
        }
        return new Location(lines[i], endLines[i], columns[i], endColumns[i]);
    }

    /**
     * The byte offset to pass to {@link #line} for a ≤3.10 frame's {@code f_lasti}: {@code f_lasti * 2}
     * on 3.10 (it counts code units there), {@code f_lasti} itself on 2.7 – 3.9. A negative
     * {@code f_lasti} (frame not started) stays negative.
     *
     * @throws IllegalArgumentException for 3.11+, whose frames have no {@code f_lasti}: use
     *                                  {@link #byteOffsetOfInstruction}
     */
    public static int byteOffsetOfLasti(PythonVersion version, int fLasti) {
        Objects.requireNonNull(version, "version");
        if (version.isAtLeast(3, 11)) {
            throw new IllegalArgumentException("CPython " + version + " frames have no f_lasti;"
                    + " use byteOffsetOfInstruction(instr_ptr, co_code_adaptive)");
        }
        if (version.is(3, 10)) {
            return fLasti < 0 ? fLasti : (int) Math.min(Integer.MAX_VALUE, 2L * fLasti);
        }
        return fLasti;
    }

    /**
     * The byte offset to pass to {@link #line} / {@link #location} for a 3.11+ interpreter frame:
     * {@code instructionPointer - codeStart}, where {@code instructionPointer} is {@code prev_instr}
     * (3.11, 3.12) or {@code instr_ptr} (3.13+) as read from the frame, and {@code codeStart} the
     * address of the code object's {@code co_code_adaptive} (the code object address plus
     * {@link Field#CODE_CODE_ADAPTIVE}). No per-version adjustment is needed: CPython's own
     * {@code _PyInterpreterFrame_GetLine} / {@code PyUnstable_InterpreterFrame_GetLine} use this
     * difference as is (see the class comment). The result is -2 for a 3.11/3.12 frame that has not
     * started, which {@link #line} maps to the first line as CPython does.
     *
     * @param instructionPointer the frame's {@code prev_instr} / {@code instr_ptr} (an address)
     * @param codeStart          the address of the first code unit
     * @throws MalformedObjectException when the difference is odd, below -2 or above
     *                                  {@code Integer.MAX_VALUE}: the frame and the code object do not
     *                                  belong together (torn read or stale code object)
     */
    public static int byteOffsetOfInstruction(long instructionPointer, long codeStart)
            throws MalformedObjectException {
        long diff = instructionPointer - codeStart;
        if ((diff & 1) != 0 || diff < -2 || diff > Integer.MAX_VALUE) {
            throw new MalformedObjectException("instruction pointer 0x" + Long.toHexString(instructionPointer)
                    + " is not a code unit of the code starting at 0x" + Long.toHexString(codeStart)
                    + " (difference " + diff + " bytes)");
        }
        return (int) diff;
    }

    /** Number of decoded ranges (for tests and diagnostics). */
    int rangeCount() {
        return starts.length;
    }

    private int indexOf(int offset) {
        if (offset >= end || starts.length == 0) {
            return -1;
        }
        int i = Arrays.binarySearch(starts, offset);
        return i >= 0 ? i : -i - 2;
    }

    @Override
    public String toString() {
        return "LineTable[" + format + ", first line " + firstLine + ", " + starts.length + " ranges"
                + (end == Integer.MAX_VALUE ? "" : ", " + end + " bytes")
                + (malformation == null ? "" : ", malformed: " + malformation) + "]";
    }
}
