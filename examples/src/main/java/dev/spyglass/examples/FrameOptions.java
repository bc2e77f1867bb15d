package dev.spyglass.examples;

import java.io.PrintStream;

import dev.spyglass.Sampler;
import picocli.CommandLine.Option;

/**
 * {@code record}'s options for frames beyond Python's (native, kernel, asyncio tasks), and what they make of a
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

    @Option(names = "--async", description = "Show asyncio tasks: the running task's stack gets a <task NAME> frame "
            + "under its coroutine and the chains of the tasks awaiting it; in wall mode each waiting task gets its "
            + "await point too. Implies --idle. CPython 3.8+; older ones are sampled without. "
            + "See docs/asyncio-tasks.md.")
    boolean asyncTasks;

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
                .nativeFramesOfAllThreads(nativeAll).kernelFrames(kernelFrames && kernelFramesAllowed(err))
                .asyncTasks(asyncTasks);
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

    /**
     * Whether idle samples are kept: {@code --kernel} (the threads blocked in a system call are the ones with
     * kernel frames) and {@code --async} (a waiting task's await point is time its loop's thread spends idle).
     */
    boolean keepsIdle() {
        return kernelFrames || asyncTasks;
    }

    /** Says, in one line on {@code err}, that {@code --async} has no effect on this target's version. */
    void sayWhatIsRefused(dev.spyglass.CPythonVersion version, PrintStream err) {
        if (asyncTasks && asyncTasksRefusal(version) != null) {
            err.println("spyglass: " + asyncTasksRefusal(version));
        }
    }

    /** The one line saying that {@code --async} has no effect on this version, or null when it has. */
    static String asyncTasksRefusal(dev.spyglass.CPythonVersion version) {
        // 3.8 - 3.13 default builds: read through sys.modules; 3.14+: the _asyncio module's debug offsets.
        boolean supported = version.isAtLeast(3, 14) || (version.isAtLeast(3, 8) && !version.freeThreaded());
        return supported ? null : "no asyncio task stacks: they need CPython 3.8 or later (3.8 - 3.13: default "
                + "builds); this is CPython " + version + ": sampling Python stacks only";
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
