package dev.spyglass.internal.nativeframes;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.os.ProcessMap;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * What both native engines share once a thread's registers and stack copy are in hand, however they were
 * taken (held stopped by {@link NativeStacks}, or a kernel snapshot of {@link NonStopNativeStacks}): the
 * target's objects and their call-frame tables, the unwinder over a copy, and the merge with the Python
 * stack. Used from the sampling thread only.
 */
final class NativeSplice implements AutoCloseable {
    /** Native frames walked at most per thread. */
    static final int MAX_FRAMES = 2048;

    private final NativeObjects objects;
    private final NativeUnwinder unwinder;
    private final StackSplicer splicer;
    private boolean[] entries = new boolean[256];
    private NativeUnwinder.Result walk;

    NativeSplice(Target target, boolean keepInterpreterFrames) throws SpyglassException {
        this.objects = new NativeObjects(ProcessMap.read(target.pid()));
        this.unwinder = new NativeUnwinder(objects, MAX_FRAMES);
        // 2.7's loop is PyEval_EvalFrameEx; from 3.6 PyEval_EvalFrameEx only forwards (a tail call) to
        // _PyEval_EvalFrameDefault, the loop itself.
        String eval = target.version().isAtLeast(3, 0) ? "_PyEval_EvalFrameDefault" : "PyEval_EvalFrameEx";
        String executable = pythonExecutable(target.pid());
        this.splicer = new StackSplicer(new NativeFrameResolver(objects, target.interpreter().objectPath(),
                executable, eval, keepInterpreterFrames));
        // Tables are built from now on, beside the session's start instead of in its first looks (NativeObjects).
        objects.buildInBackground(executable == null ? List.of(target.interpreter().objectPath())
                : List.of(target.interpreter().objectPath(), executable));
    }

    /**
     * The target's executable as its mappings name it, when it is a {@code python*} program (pyenv's
     * shared builds keep {@code main} there, apart from libpython); null for a program embedding Python.
     */
    private static String pythonExecutable(long pid) {
        try {
            String exe = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc", Long.toString(pid), "exe"))
                    .toString();
            String name = exe.substring(exe.lastIndexOf('/') + 1);
            return name.startsWith("python") ? exe : null;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** Walks the native stack from the registers over {@code stack}, a copy of the target's bytes from {@code stackStart}. */
    NativeUnwinder.Result unwind(long rip, long rsp, long rbp, MemorySegment stack, long stackStart) {
        walk = unwinder.unwind(rip, rsp, rbp, stack, stackStart);
        return walk;
    }

    /**
     * Merges the last {@link #unwind walk} with thread {@code t}'s Python frames (innermost first), whose
     * entry marks come from {@code t}; then {@link #frames()} or {@link #reason()}.
     */
    StackSplicer.Outcome merge(ThreadRecord t, List<Frame> python) {
        if (tablePending()) {
            return StackSplicer.Outcome.TORN;
        }
        if (entries.length < python.size()) {
            entries = new boolean[Math.max(python.size(), entries.length * 2)];
        }
        Arrays.fill(entries, 0, python.size(), false);
        if (t != null) {
            for (int f = 0; f < Math.min(t.depth(), python.size()); f++) {
                entries[f] = t.entryFrame(f);
            }
        }
        return splicer.merge(walk.pcs(), walk.depth(), walk.outcome() == NativeUnwinder.Outcome.COMPLETE, python,
                entries);
    }

    /** The merged frames, innermost first (reused by the next merge). */
    List<Frame> frames() {
        return splicer.frames();
    }

    /** Why the last merge was torn. */
    String reason() {
        return tablePending() ? walk.reason() : splicer.reason();
    }

    /**
     * The last walk reached an object whose call-frame table is still being built after the longest wait: it is
     * not merged, and the sample goes out with its Python frames under {@link Frame#NATIVE_FRAMES_UNKNOWN} (see {@link #unknown}).
     */
    boolean tablePending() {
        return walk != null && walk.outcome() == NativeUnwinder.Outcome.TRUNCATED
                && walk.reason().startsWith(NativeUnwinder.TABLE_PENDING);
    }

    /** {@code python}'s thread with its Python frames under {@link Frame#NATIVE_FRAMES_UNKNOWN}. */
    static ThreadStack unknown(ThreadStack python) {
        return unknown(python, python.frames());
    }

    /** {@code python}'s thread with {@code pythonFrames} (its own, or of a read nearer in time) under the mark. */
    static ThreadStack unknown(ThreadStack python, List<Frame> pythonFrames) {
        List<Frame> frames = new java.util.ArrayList<>(pythonFrames.size() + 1);
        frames.add(Frame.NATIVE_FRAMES_UNKNOWN);
        frames.addAll(pythonFrames);
        return withFrames(python, frames);
    }

    /** {@code python}'s thread with {@code frames} instead of its own. */
    static ThreadStack withFrames(ThreadStack python, List<Frame> frames) {
        return new ThreadStack(python.pid(), python.nativeThreadId(), python.threadStartTime(), python.pythonThreadId(),
                python.threadName(), python.interpreterId(), python.state(), python.gilHeld(), frames);
    }

    @Override
    public void close() {
        objects.close();
    }
}
