package dev.spyglass.examples;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.spyglass.Frame;
import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SpyglassException;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;

/**
 * {@code dump --native} and {@code dump --kernel}: every thread's stack at one instant, with native or
 * kernel frames. The library's snapshot reads Python frames only; these come from a sampling session,
 * whose first tick stops the threads together (native frames), so the dump is that tick's samples.
 *
 * <p>With the non-stop engine no tick is of one instant for all threads, and a thread's first tick never has
 * its native frames (they need a snapshot proven against an earlier read): the dump then samples up to a
 * second and shows each thread's latest spliced stack, or its latest stack under
 * {@code <native frames unknown>} when none was spliced.
 *
 * @param version  the target's CPython version
 * @param threads  the threads merged at the first tick
 * @param unmerged threads of that tick whose native and Python stacks did not agree, or torn (left out); with
 *                 the non-stop engine, threads shown without native frames
 * @param container the short id of the target's container, empty when in none
 */
record TickSnapshot(String version, List<ThreadStack> threads, long unmerged, String container) {

    static TickSnapshot take(long pid, boolean nativeFrames, Sampler.NativeEngine engine, boolean interpreterFrames,
            boolean allThreads, boolean kernelFrames) throws SpyglassException {
        boolean nonStop = nativeFrames && engine == Sampler.NativeEngine.NON_STOP;
        Sampler sampler = Sampler.builder().nativeFrames(nativeFrames).nativeEngine(engine)
                .interpreterFrames(interpreterFrames).nativeFramesOfAllThreads(allThreads).kernelFrames(kernelFrames)
                .interval(Duration.ofMillis(nonStop ? 20 : 50)).duration(Duration.ofSeconds(nonStop ? 1 : 5)).build();
        try (SamplingSession s = sampler.attach(pid)) {
            if (nonStop) {
                return latestSpliced(s);
            }
            List<ThreadStack> threads = new ArrayList<>();
            long[] first = {Long.MIN_VALUE};
            // The first tick's samples share its timestamp; the next tick's first sample ends the dump.
            Iterator<StackSample> samples = s.stream().iterator();
            while (samples.hasNext()) {
                StackSample x = samples.next();
                if (first[0] == Long.MIN_VALUE) {
                    first[0] = x.timestampNanos();
                } else if (x.timestampNanos() != first[0]) {
                    break;
                }
                threads.add(x.thread());
            }
            long torn = s.stats().tornSamples();
            s.stop();
            return new TickSnapshot(s.version().toString(), threads, torn, s.container().orElse(""));
        }
    }

    /** Each thread's latest spliced stack over the session, else its latest one. */
    private static TickSnapshot latestSpliced(SamplingSession s) {
        Map<Long, ThreadStack> latest = new LinkedHashMap<>();
        s.forEach(x -> {
            ThreadStack t = x.thread();
            ThreadStack before = latest.get(t.nativeThreadId());
            if (before == null || !unspliced(t) || unspliced(before)) {
                latest.put(t.nativeThreadId(), t);
            }
        });
        List<ThreadStack> threads = new ArrayList<>(latest.values());
        return new TickSnapshot(s.version().toString(), threads,
                threads.stream().filter(TickSnapshot::unspliced).count(), s.container().orElse(""));
    }

    private static boolean unspliced(ThreadStack t) {
        return !t.frames().isEmpty() && t.frames().getFirst().equals(Frame.NATIVE_FRAMES_UNKNOWN);
    }
}
