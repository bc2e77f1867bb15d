package dev.spyglass;

import java.time.Duration;

/**
 * Run in a separate JVM (as another user) by {@link PermissionTest}: samples {@code args[0]} with native
 * frames for two seconds and prints {@code OK <samples>} and the first sample's frames, or the failure.
 */
public final class NativeProbe {
    private NativeProbe() {
    }

    public static void main(String[] args) {
        Sampler sampler = Sampler.builder().nativeFrames(true).interval(Duration.ofMillis(10))
                .duration(Duration.ofSeconds(2)).build();
        try (SamplingSession s = sampler.attach(Long.parseLong(args[0]))) {
            java.util.List<StackSample> samples = s.stream().toList();
            System.out.println("OK " + samples.size() + " " + s.stats());
            if (!samples.isEmpty()) {
                samples.getFirst().frames().forEach(f -> System.out.println("  " + f));
            }
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
