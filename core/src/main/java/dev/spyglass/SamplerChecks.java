package dev.spyglass;

import java.util.List;

import dev.spyglass.internal.kernel.KernelFrames;
import dev.spyglass.internal.kernel.UserStackSamples;
import dev.spyglass.internal.os.ProcessTree;
import dev.spyglass.internal.python.Target;

/**
 * What a {@link Sampler} checks before it attaches or launches: that this process may take the frames and events
 * it was asked for (checked first, so a launched command is not started only to be killed), and, following
 * children, where the CPython below a process that is not one is.
 */
final class SamplerChecks {

    private SamplerChecks() {
    }

    /** Throws when kernel frames, the no-stop native engine or page-fault sampling is asked for but refused. */
    static void permitted(Sampler s) throws AccessDeniedException {
        if (s.kernelFrames()) {
            refuse("kernel frames", KernelFrames.refusal());
        }
        if (s.nativeFrames() && s.nativeEngine() == Sampler.NativeEngine.NON_STOP) {
            refuse("native frames without stopping", UserStackSamples.refusal());
        }
        if (s.mode() == SamplingMode.PAGE_FAULTS) {
            refuse("page-fault sampling", UserStackSamples.pageFaultRefusal());
        }
    }

    private static void refuse(String what, String why) throws AccessDeniedException {
        if (why != null) {
            throw new AccessDeniedException(what + ": " + why);
        }
    }

    /** With children followed, the first CPython descendant of {@code pid}, which is none. */
    static Target firstPythonBelow(long pid, NotAPythonProcessException notPython) throws SpyglassException {
        List<Long> below = ProcessTree.descendants(pid, 4096);
        for (long child : below) {
            try {
                return Target.attach(child);
            } catch (NotAPythonProcessException | ProcessGoneException | AccessDeniedException e) {
                // a shell, a helper, gone, or another user's: look further
            }
        }
        throw new NotAPythonProcessException(notPython.getMessage() + "; nor is any of its " + below.size()
                + " descendants");
    }
}
