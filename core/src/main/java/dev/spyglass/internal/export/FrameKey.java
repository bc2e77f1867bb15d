package dev.spyglass.internal.export;

import dev.spyglass.Frame;

/**
 * A frame as the aggregating formats tell frames apart: qualified name, file and (unless line numbers are
 * dropped) line.
 *
 * @param name the qualified name ({@code Outer.leaf}), or the plain function name when the version has none
 * @param file the file, possibly empty
 * @param line the line, 0 when unknown or dropped
 */
record FrameKey(String name, String file, int line) {

    static FrameKey of(Frame frame, boolean lineNumbers) {
        String name = frame.qualifiedName().isEmpty() ? frame.function() : frame.qualifiedName();
        return new FrameKey(name, frame.file(), lineNumbers ? Math.max(frame.line(), 0) : 0);
    }

    /** {@code name (file:line)}, {@code name (file)} when the line is 0, {@code name} when the file is empty. */
    String label() {
        if (file.isEmpty()) {
            return line > 0 ? name + " (:" + line + ")" : name;
        }
        return line > 0 ? name + " (" + file + ":" + line + ")" : name + " (" + file + ")";
    }
}
