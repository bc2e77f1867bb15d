package dev.spyglass.cpython.abi;

/**
 * The source position of one bytecode instruction, as CPython itself reports it.
 *
 * <p>Conventions (the same as CPython's C API, where {@code -1} means "absent", and
 * {@code co_positions()}, where it shows as {@code None}):
 * <ul>
 *   <li>{@code line}: 1-based line number; {@code -1} when the instruction has no line (3.10+
 *       artificial instructions, or an offset past the end of the code). {@code 0} is a real value
 *       CPython can report for synthetic code objects (e.g. {@code co_firstlineno == 0}); other
 *       negative values come only from a garbage table or {@code co_firstlineno} and are passed
 *       through, like CPython would.</li>
 *   <li>{@code endLine}: last line of the instruction's source range (3.11+); {@code -1} when absent,
 *       always for 2.7 – 3.10.</li>
 *   <li>{@code column}, {@code endColumn}: 0-based UTF-8 byte offsets into the source line, end
 *       exclusive (3.11+, as {@code co_positions()}); {@code -1} when absent, always for 2.7 – 3.10.</li>
 * </ul>
 *
 * @param line      first line, or -1
 * @param endLine   last line, or -1
 * @param column    first column (UTF-8 byte offset), or -1
 * @param endColumn end column (exclusive UTF-8 byte offset), or -1
 */
public record Location(int line, int endLine, int column, int endColumn) {

    /** No position known: every component {@code -1}. */
    public static final Location UNKNOWN = new Location(-1, -1, -1, -1);

    /** A location with only a line number (2.7 – 3.10); {@link #UNKNOWN} for line {@code -1}. */
    public static Location ofLine(int line) {
        return line == -1 ? UNKNOWN : new Location(line, -1, -1, -1);
    }

    /** {@code true} when {@link #line()} is known (not {@code -1}). */
    public boolean hasLine() {
        return line != -1;
    }

    /** {@code true} when both columns are known. */
    public boolean hasColumns() {
        return column != -1 && endColumn != -1;
    }
}
