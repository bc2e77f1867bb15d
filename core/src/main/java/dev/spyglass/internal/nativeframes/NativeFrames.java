package dev.spyglass.internal.nativeframes;

import java.util.function.Consumer;

import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.ThreadStack;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/**
 * A native engine: how a session merges native frames into its Python stacks. Two exist: {@link NativeStacks}
 * holds the Python threads stopped while it reads them (ptrace), {@link NonStopNativeStacks} never stops them
 * and splices kernel snapshots only where it can tie them to the read of the Python stack. At each tick
 * the session calls {@link #readThreads}, then {@link #merge} for each thread read. Used from the sampling
 * thread only.
 */
public interface NativeFrames extends AutoCloseable {

    /** Reads every thread as {@link Target#readThreads} does; the count read. */
    int readThreads(SamplingMode mode) throws SpyglassException;

    /**
     * Thread {@code t}'s stack with native frames merged in; null when it must be dropped as torn (only
     * the brief-stop engine drops: the other returns the Python frames under
     * {@link dev.spyglass.Frame#NATIVE_FRAMES_UNKNOWN}).
     */
    ThreadStack merge(ThreadRecord t, ThreadStack python);

    /** The threads without a Python thread state, when the engine samples them (brief-stop, all threads). */
    default void forEachNativeOnly(SamplingMode mode, Consumer<ThreadStack> action) {
    }

    /** Sets what is told which threads are about to be stopped (an engine that stops none never tells). */
    default void beforeStop(NativeStacks.ThreadsToStop listener) {
    }

    @Override
    void close();
}
