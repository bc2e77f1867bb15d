package dev.spyglass.examples;

import java.io.PrintStream;

import dev.spyglass.Sampler;
import picocli.CommandLine.Option;

/**
 * {@code record}'s options for frames beyond Python's (native, kernel), and what they make of a
 * {@link Sampler.Builder}: a right the machine refuses (perf events, a kernel stack file) is said in one
 * line and the recording is made without those frames, never by stopping a target that asked not to be.
 */
final class FrameOptions {

    @Option(names = "--native", arity = "0..1", fallbackValue = "brief-stop", paramLabel = "ENGINE",
            converter = NativeEngineOption.Converter.class, description = "Merge native (C) frames into the Python "
            + "stacks: the C extension and library functions each thread is in. ENGINE: "
            + NativeEngineOption.DESCRIPTION + " See docs/native-frames.md.")
    Sampler.NativeEngine nativeFrames;

    @Option(names = "--interpreter-frames", description = "With --native: keep the interpreter's own C frames.")
    boolean interpreterFrames;

    @Option(names = "--native-all", description = "--native, and also the threads that run no Python code "
            + "(BLAS workers, threads of C extensions): native frames only, under the kernel's thread name. "
            + "Brief-stop engine only.")
    boolean nativeAll;

    @Option(names = "--kernel", description = "Put the kernel's frames under each thread's stack: the system call "
            + "or fault it is in (a blocking read, a sleep, a futex). Implies --idle. Never stops the target. Needs "
            + "root; without the right, records without them and says why. See docs/kernel-frames.md.")
    boolean kernelFrames;

    /** The usage error of this combination of options, or null. */
    String usageError() {
        return nativeAll && nativeFrames == Sampler.NativeEngine.NON_STOP
                ? "--native-all needs the brief-stop engine, not --native=nonstop" : null;
    }

    /** Sets the builder's frame options, leaving out (with one line on {@code err}) what is refused. */
    Sampler.Builder configure(Sampler.Builder builder, PrintStream err) {
        return builder.nativeFrames((nativeFrames != null && nonStopAllowed(err)) || nativeAll)
                .interpreterFrames(interpreterFrames)
                .nativeEngine(nativeFrames == null ? Sampler.NativeEngine.BRIEF_STOP : nativeFrames)
                .nativeFramesOfAllThreads(nativeAll).kernelFrames(kernelFrames && kernelFramesAllowed(err));
    }

    /**
     * Whether {@code --native=nonstop} (or brief-stop) can be honoured; if nonstop is refused, says why in one
     * line and records Python frames only: falling back to the brief-stop engine would stop the target,
     * which is what nonstop was asked to avoid.
     */
    private boolean nonStopAllowed(PrintStream err) {
        if (nativeFrames != Sampler.NativeEngine.NON_STOP) {
            return true;
        }
        String why = Sampler.nonStopNativeFramesRefusal().orElse(null);
        if (why != null) {
            err.println("spyglass: recording without native frames: " + why);
        }
        return why == null;
    }

    /** Whether {@code --kernel} can be honoured; if not, says why in one line and records without. */
    private boolean kernelFramesAllowed(PrintStream err) {
        String why = Sampler.kernelFramesRefusal().orElse(null);
        if (why != null) {
            err.println("spyglass: recording without kernel frames: " + why);
        }
        return why == null;
    }
}
