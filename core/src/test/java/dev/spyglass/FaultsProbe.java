package dev.spyglass;

import java.time.Duration;

/**
 * Run in a separate JVM (as another user) by {@link PermissionTest}: prints what
 * {@link Sampler#pageFaultsRefusal()} says, then tries to sample {@code args[0]} in
 * {@link SamplingMode#PAGE_FAULTS}, then in {@link SamplingMode#MEMORY}, printing {@code OK <mode> <samples>} or the
 * failure of each.
 */
public final class FaultsProbe {
    private FaultsProbe() {
    }

    public static void main(String[] args) {
        System.out.println("refusal: " + Sampler.pageFaultsRefusal().orElse("none"));
        for (SamplingMode mode : new SamplingMode[] {SamplingMode.PAGE_FAULTS, SamplingMode.MEMORY}) {
            Sampler sampler = Sampler.builder().mode(mode).interval(Duration.ofMillis(10))
                    .duration(Duration.ofMillis(500)).build();
            try (SamplingSession s = sampler.attach(Long.parseLong(args[0]))) {
                long n = s.stream().count();
                System.out.println("OK " + mode + " " + n + " failure=" + s.failure().map(Throwable::toString).orElse("none"));
            } catch (SpyglassException e) {
                System.out.println(mode + " " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }
}
