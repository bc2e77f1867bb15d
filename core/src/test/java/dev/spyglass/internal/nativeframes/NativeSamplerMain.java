package dev.spyglass.internal.nativeframes;

import java.time.Duration;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;

/**
 * A JVM that samples {@code args[0]} with native frames as fast as it can until it is killed: run by
 * {@link NativeFramesBadInputTest} to kill a sampler mid-stop.
 */
public final class NativeSamplerMain {
    private NativeSamplerMain() {
    }

    public static void main(String[] args) throws Exception {
        Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofNanos(10_000)).build();
        try (SamplingSession s = sampler.attach(Long.parseLong(args[0]))) {
            long[] n = {0};
            s.forEach(x -> {
                if (++n[0] == 100) {
                    System.out.println("sampling");
                    System.out.flush();
                }
            });
        }
    }
}
