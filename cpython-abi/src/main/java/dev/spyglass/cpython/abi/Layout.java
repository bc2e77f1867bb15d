package dev.spyglass.cpython.abi;

import java.util.Arrays;
import java.util.Objects;

/**
 * The offsets, sizes and constants of one CPython version, for the fields the stack reader follows.
 * Look-up is an array index: cheap enough for the sampling hot path.
 *
 * <p>Obtain one from {@link Layouts#forVersion(PythonVersion)} (2.7, 3.6 – 3.12: built-in tables) or
 * {@link DebugOffsets} (3.13+: read from the target's own {@code _Py_DebugOffsets}).
 */
public final class Layout {

    /** Returned by {@link #offset(Field)} when the version has no such field. */
    public static final long ABSENT = -1;

    private final PythonVersion version;
    private final long[] values;
    private final String source;

    private Layout(PythonVersion version, long[] values, String source) {
        this.version = version;
        this.values = values;
        this.source = source;
    }

    /** The version this layout describes. */
    public PythonVersion version() {
        return version;
    }

    /** Where the values came from, e.g. {@code "built-in table 3.9"} or {@code "_Py_DebugOffsets"}. */
    public String source() {
        return source;
    }

    /** The offset (or size, or constant) of {@code field}, or {@link #ABSENT}. */
    public long offset(Field field) {
        return values[field.ordinal()];
    }

    /** {@code true} when the version has {@code field}. */
    public boolean has(Field field) {
        return values[field.ordinal()] != ABSENT;
    }

    /**
     * The offset of {@code field}.
     *
     * @throws IllegalStateException when the version has no such field (a programming error)
     */
    public long require(Field field) {
        long v = values[field.ordinal()];
        if (v == ABSENT) {
            throw new IllegalStateException("CPython " + version + " has no " + field + " (" + source + ")");
        }
        return v;
    }

    /** A builder starting with every field absent. */
    public static Builder builder(PythonVersion version, String source) {
        return new Builder(version, source);
    }

    /** A builder starting from this layout's values (for patch-level overrides). */
    public Builder toBuilder(PythonVersion version, String source) {
        Builder b = new Builder(version, source);
        System.arraycopy(values, 0, b.values, 0, values.length);
        return b;
    }

    /** Builds a {@link Layout}. */
    public static final class Builder {
        private final PythonVersion version;
        private final String source;
        private final long[] values = new long[Field.values().length];

        private Builder(PythonVersion version, String source) {
            this.version = Objects.requireNonNull(version, "version");
            this.source = Objects.requireNonNull(source, "source");
            Arrays.fill(values, ABSENT);
        }

        /** Sets {@code field} to {@code value} (an offset, size or constant; not negative). */
        public Builder set(Field field, long value) {
            if (value < 0) {
                throw new IllegalArgumentException(field + " = " + value);
            }
            values[field.ordinal()] = value;
            return this;
        }

        /** Marks {@code field} absent. */
        public Builder clear(Field field) {
            values[field.ordinal()] = ABSENT;
            return this;
        }

        public Layout build() {
            return new Layout(version, values.clone(), source);
        }
    }

    @Override
    public String toString() {
        return "Layout[" + version + ", " + source + "]";
    }
}
