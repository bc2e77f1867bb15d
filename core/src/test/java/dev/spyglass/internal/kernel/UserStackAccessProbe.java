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

    public static void main(String[] args) throws Exception {
        System.out.println("refusal=" + UserStackSamples.refusal());
        long pid = Long.parseLong(args[0]);
        if (args.length > 1 && args[1].equals("sample")) {
            sample(pid);
            return;
        }
        Sampler sampler = Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP)
                .duration(Duration.ofMillis(200)).build();
        try (SamplingSession s = sampler.attach(pid)) {
            System.out.println("OK");
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Samples 2 s and prints the threads with spliced samples, the counts and any failure. */
    private static void sample(long pid) throws Exception {
        Sampler sampler = Sampler.builder().nativeFrames(true).nativeEngine(Sampler.NativeEngine.NON_STOP)
                .interval(Duration.ofMillis(10)).duration(Duration.ofSeconds(2)).build();
        java.util.Set<Long> splicedThreads = new java.util.TreeSet<>();
        java.util.Set<Long> threads = new java.util.TreeSet<>();
        try (SamplingSession s = sampler.attach(pid)) {
            s.forEach(x -> {
                threads.add(x.thread().nativeThreadId());
                if (!x.frames().isEmpty() && !x.frames().getFirst().equals(dev.spyglass.Frame.NATIVE_FRAMES_UNKNOWN)) {
                    splicedThreads.add(x.thread().nativeThreadId());
                }
            });
            System.out.println("threads=" + threads.size() + " splicedThreads=" + splicedThreads.size() + " "
                    + s.stats().nativeSnapshots() + " failure=" + s.failure().map(Throwable::toString).orElse("none"));
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
