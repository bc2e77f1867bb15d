package dev.spyglass.examples;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

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
 * @param version  the target's CPython version
 * @param threads  the threads merged at the first tick
 * @param unmerged threads of that tick whose native and Python stacks did not agree, or torn (left out)
 */
record TickSnapshot(String version, List<ThreadStack> threads, long unmerged) {

    static TickSnapshot take(long pid, boolean nativeFrames, boolean interpreterFrames, boolean allThreads,
            boolean kernelFrames) throws SpyglassException {
        Sampler sampler = Sampler.builder().nativeFrames(nativeFrames).interpreterFrames(interpreterFrames)
                .nativeFramesOfAllThreads(allThreads).kernelFrames(kernelFrames)
                .interval(Duration.ofMillis(50)).duration(Duration.ofSeconds(5)).build();
        try (SamplingSession s = sampler.attach(pid)) {
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
            return new TickSnapshot(s.version().toString(), threads, torn);
        }
    }
}
