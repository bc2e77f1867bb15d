package dev.spyglass.internal.session;

import dev.spyglass.SamplingMode;
import dev.spyglass.SpyglassException;
import dev.spyglass.StackSample;
import dev.spyglass.internal.python.Target;
import dev.spyglass.internal.python.ThreadRecord;

/** The Python stacks of one process: at each tick, one {@link StackSample} per thread the mode asks for. */
public final class PythonStackSource implements EventSource {
    private final Target target;
    private final long weightNanos;

    /**
     * @param target        the attached process; closed with this source
     * @param intervalNanos the session's interval: the weight of every sample
     */
    public PythonStackSource(Target target, long intervalNanos) {
        this.target = target;
        this.weightNanos = intervalNanos;
    }

    @Override
    public void poll(long timestampNanos, SamplingMode mode, EventBuffer out) throws SpyglassException {
        // Every reported thread weighs one interval, in both modes. In CPU mode the threads not
        // running at the tick are skipped by the read. (The process CPU clock of another process is
        // no finer than the scheduler tick, 4 ms here: it cannot weigh 1 ms samples.)
        int n = target.readThreads(mode);
        for (int i = 0; i < n; i++) {
            ThreadRecord t = target.thread(i);
            if (t.torn()) {
                out.tornSample();
                continue;
            }
            if (t.skipped()) {
                continue;
            }
            out.add(new StackSample(target.threadStack(t), timestampNanos, weightNanos));
        }
    }

    @Override
    public void close() {
        target.close();
    }
}
