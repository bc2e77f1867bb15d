package dev.spyglass;

import java.util.Arrays;

/** One thread's probed calls not yet returned, outermost first: which function, since when, which Python function. */
final class OpenCalls {
    int[] function = new int[8];
    long[] since = new long[8];
    Frame[] python = new Frame[8];
    int depth;

    /** A call of function {@code f} entered at {@code time}, innermost now. */
    void push(int f, long time, Frame py) {
        if (depth == function.length) {
            function = Arrays.copyOf(function, depth * 2);
            since = Arrays.copyOf(since, depth * 2);
            python = Arrays.copyOf(python, depth * 2);
        }
        function[depth] = f;
        since[depth] = time;
        python[depth] = py;
        depth++;
    }

    /** Forgets the call at {@code at} (its return will not be seen); the calls inside it move out one level. */
    void remove(int at) {
        System.arraycopy(function, at + 1, function, at, depth - at - 1);
        System.arraycopy(since, at + 1, since, at, depth - at - 1);
        System.arraycopy(python, at + 1, python, at, depth - at - 1);
        depth--;
    }
}
