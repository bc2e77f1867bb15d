package dev.spyglass.internal.kernel;

import java.time.Duration;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingSession;
import dev.spyglass.SpyglassException;

/**
 * Run in a separate JVM as another user by {@link UserStackSamplesAccessTest}: prints what
 * {@link UserStackSamples#refusal()} says, then attaches the no-stop native engine to process
 * {@code args[0]} and prints {@code OK} or the exception.
 */
public final class UserStackAccessProbe {
    private UserStackAccessProbe() {
    }

    public static void main(String[] args) {
        System.out.println("refusal=" + UserStackSamples.refusal());
        long pid = Long.parseLong(args[0]);
        Sampler sampler = Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP)
                .duration(Duration.ofMillis(200)).build();
        try (SamplingSession s = sampler.attach(pid)) {
            System.out.println("OK");
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
