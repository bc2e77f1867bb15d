package dev.spyglass;

import java.util.Objects;

/**
 * One frame of a stack: a value, compared with {@link #equals}. Spyglass hands out one instance for
 * equal frames of one target (up to a bound), so a steady-state sampler allocates no frames; consumers
 * must not rely on that identity.
 *
 * @param kind          what kind of code the frame runs: {@link FrameKind#PYTHON}, {@link FrameKind#NATIVE}
 *                      (machine code, when native frames are asked for), or {@link FrameKind#PSEUDO} for a
 *                      label Spyglass adds ({@link #INTERPRETER_SHUTDOWN}, {@link #NATIVE_FRAMES_UNKNOWN})
 * @param function      the function name ({@code co_name}); never null, {@code "<unknown>"} when it
 *                      could not be read. For a native frame the symbol (demangled), or
 *                      {@code library+0xOFFSET} when no symbol covers the address. For a kernel frame
 *                      the kernel's symbol ({@code anon_pipe_read}), or {@code [kernel]+0xADDRESS}
 * @param qualifiedName the qualified name ({@code co_qualname}, CPython 3.11+, e.g.
 *                      {@code Outer.method}); equal to {@code function} when the version has none
 * @param file          the source file ({@code co_filename}), as the target sees it; empty when unknown.
 *                      For a native frame the path of the object (executable or shared library) the
 *                      code is in, as the target maps it, or {@code [anonymous]} for code in no file;
 *                      for a kernel frame {@code [kernel]}
 * @param line          the line being executed, 1-based; 0 when unknown
 * @param endLine       the last line of the instruction's location (3.11+), or 0 when unknown
 * @param column        the start column (3.11+, 0-based), or -1 when unknown
 * @param endColumn     the end column (3.11+), or -1 when unknown
 * @param firstLine     the function's first line ({@code co_firstlineno}, 1-based, the {@code def} line or
 *                      its first decorator); 0 when unknown
 */
public record Frame(FrameKind kind, String function, String qualifiedName, String file, int line, int endLine,
        int column, int endColumn, int firstLine) {

    /**
     * What kind of code a frame runs. Only the kinds Spyglass produces are listed; a {@code switch} over
     * this enum may need a new case when a later version adds one.
     */
    public enum FrameKind {
        /** A Python function, module or class body run by the interpreter. */
        PYTHON,
        /**
         * Machine code: a C (or C++, Rust, Cython) function of a C extension, a library or the
         * interpreter, reported only when a sampler is asked for native frames
         * ({@link Sampler.Builder#nativeFrames}). Its {@code function} and {@code qualifiedName} are
         * the symbol, its {@code file} the object's path ({@link Frame#library()} its file name), its
         * line 0.
         */
        NATIVE,
        /**
         * The kernel's code, innermost in a stack: a system call or fault the thread is in (a blocking
         * {@code read} shows {@code anon_pipe_read}, {@code vfs_read}, {@code ksys_read}, ...), reported
         * only when a sampler is asked for kernel frames ({@link Sampler.Builder#kernelFrames}). Its
         * {@code function} and {@code qualifiedName} are the kernel's symbol, its {@code file}
         * {@link Frame#KERNEL_FILE}, its line 0.
         */
        KERNEL,
        /**
         * Not code: a label for time a thread spent in a state Spyglass can name, where it would
         * otherwise have no frame and drop out of flame graphs. Its {@code function} and
         * {@code qualifiedName} are the label in angle brackets, its file is empty and its line 0.
         * Today {@link Frame#INTERPRETER_SHUTDOWN}, {@link Frame#GARBAGE_COLLECTION},
         * {@link Frame#NATIVE_FRAMES_UNKNOWN}, {@link Frame#MEMORY_RELEASED}, {@link Frame#PYMALLOC_ARENA}, {@link Frame#PYMALLOC_POOL}, {@link Frame#MAPPED} and the
         * {@code <task NAME>} marker of
         * {@link Frame#asyncTask}.
         */
        PSEUDO
    }

    /**
     * {@code <interpreter shutdown>}: the root frame of the thread finalising the interpreter
     * ({@code Py_FinalizeEx}, after the atexit handlers ran: modules torn down, objects freed, the last
     * garbage collections), with any Python code run then (a {@code __del__}, a weakref callback) above
     * it. Read from CPython's {@code _PyRuntime._finalizing} (3.7+) or {@code _Py_Finalizing} (3.6); 2.7
     * has no such mark, so its shutdown has no frames there.
     */
    public static final Frame INTERPRETER_SHUTDOWN = new Frame(FrameKind.PSEUDO, "<interpreter shutdown>",
            "<interpreter shutdown>", "", 0, 0, -1, -1, 0);

    /**
     * {@code <GC>}: the innermost frame of a thread running the interpreter's cyclic garbage collector,
     * under the Python frame whose allocation triggered it (or that called {@code gc.collect()}), as
     * CPython 3.15's sampler shows it. Read from the interpreter's {@code gc.collecting} (3.9+), the
     * runtime's {@code _PyRuntime.gc.collecting} (3.7, 3.8) or {@code gcmodule.c}'s static
     * {@code collecting} (2.7, 3.6, when the object's {@code .symtab} names it), and given to the thread
     * holding the GIL; stripped 2.7/3.6 and free-threaded builds (no GIL to tell the
     * collecting thread) show none.
     */
    public static final Frame GARBAGE_COLLECTION = new Frame(FrameKind.PSEUDO, "<GC>", "<GC>", "", 0, 0, -1, -1, 0);

    /**
     * {@code <native frames unknown>}: the innermost frame of a sample taken with the
     * {@link Sampler.NativeEngine#NON_STOP} native engine when no native snapshot of the thread could be
     * tied to the read of its Python stack (it moved through Python code between the snapshot and the
     * read, it is new, or its snapshot was lost). The Python frames under it are those read;
     * only the native frames between them are missing. Counted in
     * {@link SamplingStats.NativeSnapshots#unspliced()}.
     */
    public static final Frame NATIVE_FRAMES_UNKNOWN = new Frame(FrameKind.PSEUDO, "<native frames unknown>",
            "<native frames unknown>", "", 0, 0, -1, -1, 0);

    /**
     * {@code <pymalloc arena>}: the innermost frame of a {@link LeakReport} stack (coarse level) that stands for
     * pymalloc arenas (256 KiB before 3.10, 1 MiB from 3.10 on) rather than blocks: below it, the stack of the
     * small-object allocation that happened to need a new arena, a sample of where small-object memory grows, not
     * the owner of every byte in it.
     */
    public static final Frame PYMALLOC_ARENA = new Frame(FrameKind.PSEUDO, "<pymalloc arena>", "<pymalloc arena>",
            "", 0, 0, -1, -1, 0);

    /**
     * {@code <pymalloc pool>}: the innermost frame of a {@link LeakReport} stack (pools level) that stands for
     * pymalloc pools (4 KiB on 3.9, 16 KiB from 3.10 on) rather than blocks: below it, the stack of the small-object
     * allocation that needed a new pool of its size class. A pool holds objects of one size class only, from any
     * stack, so it too is a sample of where small-object memory grows, 64 times finer than an arena.
     */
    public static final Frame PYMALLOC_POOL = new Frame(FrameKind.PSEUDO, "<pymalloc pool>", "<pymalloc pool>",
            "", 0, 0, -1, -1, 0);

    /**
     * {@code <mmap>}: the innermost frame of a {@link LeakReport} stack (coarse level) that stands for anonymous
     * mappings the program made itself through the C library's {@code mmap} (not through CPython's allocators),
     * listed apart from the allocators' blocks.
     */
    public static final Frame MAPPED = new Frame(FrameKind.PSEUDO, "<mmap>", "<mmap>", "", 0, 0, -1, -1, 0);

    /**
     * {@code <memory released>}: the outermost frame of a {@link SamplingMode#MEMORY} sample that stands for
     * resident memory the process gave back, above the stack of the thread holding the GIL when it was seen;
     * samples without it stand for growth. Exporters show releases as their own tree under it (pprof as its
     * {@code memory_released} value, Austin as a negative metric).
     */
    public static final Frame MEMORY_RELEASED = new Frame(FrameKind.PSEUDO, "<memory released>", "<memory released>",
            "", 0, 0, -1, -1, 0);

    /**
     * {@code <task NAME>}: the outermost frame of an {@code asyncio} task's await chain in samples taken with
     * {@link Sampler.Builder#asyncTasks}: the frames above it run in (or wait in) the task named {@code NAME},
     * and the frames below it are those of the task that awaits it, under its own marker, down to the task
     * no task awaits.
     *
     * @param name the task's name ({@link AsyncTask#name()})
     */
    public static Frame asyncTask(String name) {
        String label = "<task " + Objects.requireNonNull(name, "name") + ">";
        return new Frame(FrameKind.PSEUDO, label, label, "", 0, 0, -1, -1, 0);
    }

    /** Whether this is a {@code <task NAME>} marker made by {@link #asyncTask}. */
    public boolean isAsyncTask() {
        return kind == FrameKind.PSEUDO && function.startsWith("<task ") && file.isEmpty();
    }

    /** The {@code file} of every {@link FrameKind#KERNEL} frame. */
    public static final String KERNEL_FILE = "[kernel]";

    /** @throws NullPointerException when {@code kind}, a name or {@code file} is null */
    public Frame {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(qualifiedName, "qualifiedName");
        Objects.requireNonNull(file, "file");
    }

    /** A Python frame with only a line number known (first line 0: unknown; no end line or columns). */
    public static Frame python(String function, String qualifiedName, String file, int line) {
        return python(function, qualifiedName, file, line, 0);
    }

    /** A Python frame with a line number and the function's first line (0 when unknown); no end line or columns. */
    public static Frame python(String function, String qualifiedName, String file, int line, int firstLine) {
        return new Frame(FrameKind.PYTHON, function, qualifiedName, file, line, 0, -1, -1, firstLine);
    }

    /**
     * A native frame: {@code function} in the object at {@code objectPath} (no line, no columns).
     *
     * @param function   the symbol, demangled, or {@code library+0xOFFSET} when none covers the address
     * @param objectPath the executable or shared library's path as the target maps it, or {@code [anonymous]}
     */
    public static Frame nativeFrame(String function, String objectPath) {
        return new Frame(FrameKind.NATIVE, function, function, objectPath, 0, 0, -1, -1, 0);
    }

    /**
     * A kernel frame: the kernel function {@code symbol} (file {@link #KERNEL_FILE}, no line).
     *
     * @param symbol the kernel's symbol without offset ({@code vfs_read}), or {@code [kernel]+0xADDRESS}
     */
    public static Frame kernelFrame(String symbol) {
        return new Frame(FrameKind.KERNEL, symbol, symbol, KERNEL_FILE, 0, 0, -1, -1, 0);
    }

    /**
     * For a {@link FrameKind#NATIVE} frame the file name of its object ({@code libc.so.6} for
     * {@code /usr/lib/x86_64-linux-gnu/libc.so.6}); empty for other kinds.
     */
    public String library() {
        if (kind != FrameKind.NATIVE) {
            return "";
        }
        int slash = file.lastIndexOf('/');
        return slash < 0 ? file : file.substring(slash + 1);
    }

    /**
     * {@code function (file:line)}, the way stack dumps show a frame; a native frame as
     * {@code function (library)}; a kernel frame as {@code function [kernel]}; a {@link FrameKind#PSEUDO}
     * frame's label alone.
     */
    @Override
    public String toString() {
        return switch (kind) {
            case PSEUDO -> qualifiedName;
            case KERNEL -> qualifiedName + " " + KERNEL_FILE;
            case NATIVE -> qualifiedName + " (" + library() + ")";
            case PYTHON -> qualifiedName + " (" + file + ":" + line + ")";
        };
    }
}
