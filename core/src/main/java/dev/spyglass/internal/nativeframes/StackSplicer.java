package dev.spyglass.internal.nativeframes;

import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;

/**
 * Merges one thread's native stack with its Python stack, as py-spy and pystack do: walking the native
 * frames innermost first, each activation of the evaluation loop is replaced by the Python frames it
 * ran, the interpreter's other frames are hidden (unless asked for), and every other native frame is
 * kept where it is. Which Python frames one activation ran comes from the frame walker's entry marks
 * ({@code ThreadRecord.entryFrame}): one frame per activation up to 3.10, from 3.11 the frames up to and
 * including the next entry frame.
 *
 * <p>When the counts disagree the sample is torn, never guessed: a thread stopped while entering or
 * leaving the evaluation loop (the C frame exists, the Python frame is not linked yet or any more), or
 * an unnamed cold part of the loop in a stripped build. One case is kept: a native walk that stopped
 * early (a stack deeper than the copy, code without call-frame information) has fewer activations
 * than the Python stack; the Python frames it did not reach are then appended as the outer part, since
 * they are known, and the sample is counted as partial.
 */
final class StackSplicer {
    /** The outcome of one merge. */
    enum Outcome { SPLICED, PARTIAL, TORN }

    private final NativeFrameResolver resolver;
    private final ArrayList<Frame> merged = new ArrayList<>(128);
    /** Each walk's program counters resolved once, for the count and for the merge. */
    private NativeFrameResolver.Resolved[] resolved = new NativeFrameResolver.Resolved[256];
    private Outcome outcome;
    private String reason;

    StackSplicer(NativeFrameResolver resolver) {
        this.resolver = resolver;
    }

    /**
     * Merges; then {@link #outcome()} says how it went and {@link #frames()} holds the merged stack
     * (innermost first) unless torn.
     *
     * @param pcs     the native program counters, innermost first ({@code pcs[0]} at the interrupted
     *                instruction, the others return addresses)
     * @param depth   how many of {@code pcs} are valid
     * @param reachedOutermost whether the native walk reached the outermost frame
     * @param python  the Python frames, innermost first (a trailing pseudo frame allowed)
     * @param entries per Python frame: whether an activation of the evaluation loop starts there
     */
    Outcome merge(long[] pcs, int depth, boolean reachedOutermost, List<Frame> python, boolean[] entries) {
        merged.clear();
        reason = null;
        int pythonFrames = python.size();
        while (pythonFrames > 0 && python.get(pythonFrames - 1).kind() == Frame.FrameKind.PSEUDO) {
            pythonFrames--;
        }
        // One activation more than the Python stack has C-level calls: the thread is in the loop's
        // entry or exit, its Python frame not linked yet or any more (py-spy lets this pass too). That
        // innermost activation ran no Python frame: it is dropped, its callers' frames are kept.
        int groups = groups(entries, pythonFrames);
        if (resolved.length < depth) {
            resolved = new NativeFrameResolver.Resolved[Math.max(depth, resolved.length * 2)];
        }
        int evals = 0;
        for (int i = 0; i < depth; i++) {
            resolved[i] = resolver.resolve(pcs[i], i > 0);
            if (resolved[i].role() == NativeFrameResolver.Role.EVAL) {
                evals++;
            }
        }
        boolean skipInnermostEval = evals == groups + 1;
        int next = 0; // the next Python frame to place
        for (int i = 0; i < depth; i++) {
            NativeFrameResolver.Resolved r = resolved[i];
            switch (r.role()) {
                case EVAL -> {
                    if (skipInnermostEval) {
                        skipInnermostEval = false;
                        continue;
                    }
                    if (next >= pythonFrames) {
                        return torn(evals, groups);
                    }
                    // This activation ran the frames from `next` outwards up to the first entry frame.
                    do {
                        merged.add(python.get(next));
                    } while (!entries[next++] && next < pythonFrames);
                }
                case SHOWN -> merged.add(r.frame());
                case HIDDEN -> { }
            }
        }
        if (next < pythonFrames) {
            if (reachedOutermost) {
                return torn(evals, groups);
            }
            for (int i = next; i < pythonFrames; i++) {
                merged.add(python.get(i));
            }
            outcome = Outcome.PARTIAL;
        } else {
            outcome = Outcome.SPLICED;
        }
        // Below the outermost Python frame, the C library's frames are how the process or thread began
        // (__libc_start_call_main, start_thread): the same root under every stack, unnamed in a
        // stripped libc, so they are hidden whatever their names.
        if (next > 0) {
            int end = merged.size();
            while (end > 0 && isLibcRoot(merged.get(end - 1))) {
                end--;
            }
            while (merged.size() > end) {
                merged.removeLast();
            }
        }
        for (int i = pythonFrames; i < python.size(); i++) {
            merged.add(python.get(i));
        }
        return outcome;
    }

    private Outcome torn(int evals, int groups) {
        outcome = Outcome.TORN;
        reason = "native stack has " + evals + " evaluation-loop frames, Python stack " + groups + " C-level calls";
        return outcome;
    }

    private static int groups(boolean[] entries, int n) {
        int g = 0;
        for (int i = 0; i < n; i++) {
            if (entries[i] || i == n - 1) {
                g++;
            }
        }
        return g;
    }

    private static boolean isLibcRoot(Frame f) {
        return f.kind() == Frame.FrameKind.NATIVE && f.library().startsWith("libc.so");
    }

    Outcome outcome() {
        return outcome;
    }

    /** Why the last merge was torn; null otherwise. */
    String reason() {
        return reason;
    }

    /** The last merge's frames, innermost first (a fresh immutable copy). */
    List<Frame> frames() {
        return List.copyOf(merged);
    }
}
