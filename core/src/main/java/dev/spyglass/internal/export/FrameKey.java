package dev.spyglass.internal.export;

import dev.spyglass.Frame;

/**
 * A frame as the aggregating formats tell frames apart: kind, qualified name, file and (unless line numbers are
 * dropped) line.
 *
 * @param kind what the frame runs; native, kernel and Python frames never merge, even with equal names
 * @param name the qualified name ({@code Outer.leaf}), or the plain function name when the version has none; for a
 *             native or kernel frame the symbol
 * @param file the file, possibly empty; for a native frame the object's path, for a kernel frame
 *             {@link Frame#KERNEL_FILE}
 * @param line the line, 0 when unknown or dropped (always 0 for native, kernel and pseudo frames)
 */
record FrameKey(Frame.FrameKind kind, String name, String file, int line) {

    static FrameKey of(Frame frame, boolean lineNumbers) {
        String name = frame.qualifiedName().isEmpty() ? frame.function() : frame.qualifiedName();
        return new FrameKey(frame.kind(), name, frame.file(),
                lineNumbers && frame.kind() == Frame.FrameKind.PYTHON ? Math.max(frame.line(), 0) : 0);
    }

    /** Whether this is {@link Frame#MEMORY_RELEASED}, the outermost frame of a memory-mode release sample. */
    boolean isMemoryReleased() {
        return kind == Frame.FrameKind.PSEUDO && name.equals(Frame.MEMORY_RELEASED.qualifiedName());
    }

    boolean isNative() {
        return kind == Frame.FrameKind.NATIVE;
    }

    boolean isKernel() {
        return kind == Frame.FrameKind.KERNEL;
    }

    /** For a native frame the file name of its object ({@code libc.so.6}), else empty (as {@link Frame#library()}). */
    String library() {
        if (!isNative()) {
            return "";
        }
        int slash = file.lastIndexOf('/');
        return slash < 0 ? file : file.substring(slash + 1);
    }

    /**
     * {@code name (file:line)}, {@code name (file)} when the line is 0, {@code name} when the file is empty; a native
     * frame {@code name (library)}, the object's file name without its directory (its path is long and the same for
     * every frame of one library, while the name alone is what a reader recognises); a kernel frame
     * {@code name [kernel]}, as {@link Frame#toString()} and {@code spyglass dump} show it.
     */
    String label() {
        if (isKernel()) {
            return name + " " + Frame.KERNEL_FILE;
        }
        if (isNative()) {
            return library().isEmpty() ? name : name + " (" + library() + ")";
        }
        if (file.isEmpty()) {
            return line > 0 ? name + " (:" + line + ")" : name;
        }
        return line > 0 ? name + " (" + file + ":" + line + ")" : name + " (" + file + ")";
    }
}
