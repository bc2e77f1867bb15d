package dev.spyglass;

import java.time.Duration;

/**
 * Run in a separate JVM (as another user) by {@link PermissionTest}: prints what
 * {@link Sampler#kernelFramesRefusal()} says, then tries to sample {@code args[0]} with kernel frames and
 * prints {@code OK <samples>} or the failure.
 */
public final class KernelProbe {
    private KernelProbe() {
    }

    public static void main(String[] args) {
        System.out.println("refusal: " + Sampler.kernelFramesRefusal().orElse("none"));
        Sampler sampler = Sampler.builder().kernelFrames(true).interval(Duration.ofMillis(10))
                .duration(Duration.ofMillis(500)).build();
        try (SamplingSession s = sampler.attach(Long.parseLong(args[0]))) {
            System.out.println("OK " + s.stream().count());
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
