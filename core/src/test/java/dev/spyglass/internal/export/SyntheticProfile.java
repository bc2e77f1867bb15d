package dev.spyglass.internal.export;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import dev.spyglass.export.Exporter;
import dev.spyglass.export.ProfileMetadata;

/**
 * A known profile built from hand-made samples: the expected content of every exporter's output is computable
 * from these constants, independently of the exporters. Public for the tests of the export API
 * ({@code dev.spyglass.export}), which feed the same samples to exporters found by name.
 */
public final class SyntheticProfile {
    public static final long PID = 1234;
    public static final long MAIN_TID = 1240;
    public static final long WORKER_TID = 1241;
    public static final long WEIGHT = 1_000_000;
    public static final long T0 = 1_763_760_000_000_000_000L;

    // first lines (co_firstlineno) known for some frames, unknown (0) for SPIN, WAIT and ODD
    public static final Frame MODULE = Frame.python("<module>", "<module>", "/app/x.py", 30, 1);
    public static final Frame MAIN = Frame.python("main", "main", "/app/x.py", 20, 18);
    public static final Frame LEAF = Frame.python("leaf", "Outer.leaf", "/app/x.py", 9, 8);
    public static final Frame LEAF_OTHER_LINE = Frame.python("leaf", "Outer.leaf", "/app/x.py", 10, 8);
    public static final Frame HELPER = Frame.python("helper", "helper", "/app/x.py", 14, 13);
    public static final Frame RUN = Frame.python("run", "Worker.run", "/app/w.py", 5, 4);
    public static final Frame SPIN = Frame.python("naïve_ß", "naïve_ß", "/app/tëst_ü.py", 2);
    public static final Frame WAIT = Frame.python("wait", "Condition.wait", "/usr/lib/python3.11/threading.py", 320);
    /** A hostile name: separators of the text formats, quotes, a line break, HTML. */
    public static final Frame ODD = Frame.python("odd", "odd;name:with \"quotes\"\n</script><b>", "/app/we;ird path.py", 7);

    public static final int LEAF_9 = 50;
    public static final int LEAF_10 = 10;
    public static final int HELPER_N = 25;
    public static final int SPIN_N = 10;
    public static final int IDLE_N = 40;
    public static final int ODD_N = 3;
    public static final int EMPTY_N = 2;

    /** Running samples with frames, i.e. what the aggregating formats keep by default. */
    public static final int KEPT = LEAF_9 + LEAF_10 + HELPER_N + SPIN_N + ODD_N;
    public static final int ALL = KEPT + IDLE_N + EMPTY_N;

    public static final ProfileMetadata METADATA = ProfileMetadata.builder().command(List.of("python3", "x.py", "--n", "3"))
            .pid(PID).pythonVersion("3.11.7").mode("wall").interval(Duration.ofMillis(1)).startEpochNanos(T0)
            .duration(Duration.ofMillis(150)).samples(ALL).tornSamples(5).droppedSamples(0).achievedRate(987.5)
            .build();

    private SyntheticProfile() {
    }

    public static List<StackSample> samples() {
        List<StackSample> out = new ArrayList<>();
        long t = T0;
        for (int i = 0; i < 50; i++) {
            // interleave so that consecutive-run merging and first-appearance ordering are both exercised
            add(out, t += 1000, MAIN_TID, "MainThread", ThreadState.RUNNING, LEAF, MAIN, MODULE);
            if (i < 25) {
                add(out, t += 1000, MAIN_TID, "MainThread", ThreadState.RUNNING, HELPER, MAIN, MODULE);
            }
            if (i < 10) {
                add(out, t += 1000, MAIN_TID, "MainThread", ThreadState.RUNNING, LEAF_OTHER_LINE, MAIN, MODULE);
                add(out, t += 1000, WORKER_TID, "worker-1", ThreadState.RUNNING, SPIN, RUN);
            }
            if (i < 40) {
                add(out, t += 1000, WORKER_TID, "worker-1", ThreadState.IDLE, WAIT, RUN);
            }
            if (i < 3) {
                add(out, t += 1000, MAIN_TID, "MainThread", ThreadState.RUNNING, ODD, MAIN, MODULE);
            }
            if (i < 2) {
                add(out, t += 1000, 1242, "Dummy-2", ThreadState.UNKNOWN);
            }
        }
        return out;
    }

    private static void add(List<StackSample> out, long ts, long tid, String name, ThreadState state,
            Frame... innermostFirst) {
        Boolean gil = state == ThreadState.RUNNING ? Boolean.valueOf(tid == MAIN_TID) : null;
        out.add(new StackSample(new ThreadStack(PID, tid, 0x7f00_0000_0000L + tid, name, 0, state, gil,
                List.of(innermostFirst)), ts, WEIGHT));
    }

    /** Feeds every sample to the exporter and closes it. */
    public static void feed(Exporter exporter) throws java.io.IOException {
        try (exporter) {
            for (StackSample s : samples()) {
                exporter.accept(s);
            }
        }
    }
}
