package dev.spyglass;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One frame of a stack. Frames are interned: {@link #python} and {@link #of} return the same instance
 * for equal frames, so a steady-state sampler allocates no frames and consumers may compare with
 * {@code ==}.
 *
 * @param kind          Python, native (C) or kernel frame
 * @param function      the function name ({@code co_name}); never null, {@code "<unknown>"} when it
 *                      could not be read
 * @param qualifiedName the qualified name ({@code co_qualname}, CPython 3.11+, e.g.
 *                      {@code Outer.method}); equal to {@code function} when the version has none
 * @param file          the source file ({@code co_filename}) or, for native frames, the library path;
 *                      empty when unknown
 * @param line          the line being executed, 1-based; 0 when unknown
 * @param endLine       the last line of the instruction's location (3.11+), or 0 when unknown
 * @param column        the start column (3.11+, 0-based), or -1 when unknown
 * @param endColumn     the end column (3.11+), or -1 when unknown
 * @param firstLine     the function's first line ({@code co_firstlineno}, 1-based, the {@code def} line or
 *                      its first decorator); 0 when unknown
 */
public record Frame(FrameKind kind, String function, String qualifiedName, String file, int line, int endLine,
        int column, int endColumn, int firstLine) {

    /** What kind of code a frame runs. */
    public enum FrameKind {
        PYTHON, NATIVE, KERNEL
    }

    private static final ConcurrentHashMap<Frame, Frame> INTERNED = new ConcurrentHashMap<>();
    /** Interning stops adding new frames past this many distinct frames (memory bound). */
    private static final int MAX_INTERNED = 1 << 20;

    public Frame {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(qualifiedName, "qualifiedName");
        Objects.requireNonNull(file, "file");
    }

    /** The interned Python frame with only a line number known (first line 0: unknown). */
    public static Frame python(String function, String qualifiedName, String file, int line) {
        return python(function, qualifiedName, file, line, 0);
    }

    /** The interned Python frame with a line number and the function's first line (0 when unknown). */
    public static Frame python(String function, String qualifiedName, String file, int line, int firstLine) {
        return of(new Frame(FrameKind.PYTHON, function, qualifiedName, file, line, 0, -1, -1, firstLine));
    }

    /** The interned instance equal to {@code frame}. */
    public static Frame of(Frame frame) {
        Frame existing = INTERNED.get(frame);
        if (existing != null) {
            return existing;
        }
        if (INTERNED.size() >= MAX_INTERNED) {
            return frame;
        }
        existing = INTERNED.putIfAbsent(frame, frame);
        return existing != null ? existing : frame;
    }

    /** {@code function (file:line)}, the way stack dumps show a frame. */
    @Override
    public String toString() {
        return qualifiedName + " (" + file + ":" + line + ")";
    }
}
