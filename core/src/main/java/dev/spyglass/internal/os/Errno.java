package dev.spyglass.internal.os;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;

/** The Linux errno values Spyglass reacts to, and what each means for a remote read. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EINVAL = 22;
    public static final int ENOSYS = 38;

    private Errno() {
    }

    /** What a failed read with {@code errno} means. */
    public enum Meaning {
        /** The process does not exist or has exited (its memory is gone). */
        PROCESS_GONE,
        /** Not allowed: ptrace rules, user mismatch, or a seccomp filter. */
        ACCESS_DENIED,
        /** The remote range is not mapped: a torn read while the target changes. */
        UNMAPPED,
        /** The system call itself is unavailable: use {@code /proc/PID/mem}. */
        NO_SYSCALL,
        /** Anything else. */
        OTHER
    }

    /** Classifies the errno of a failed {@code process_vm_readv}. */
    public static Meaning classify(int errno) {
        return switch (errno) {
            case ESRCH -> Meaning.PROCESS_GONE;
            case EPERM, EACCES -> Meaning.ACCESS_DENIED;
            case EFAULT, EIO, ENOMEM -> Meaning.UNMAPPED;
            case ENOSYS -> Meaning.NO_SYSCALL;
            default -> Meaning.OTHER;
        };
    }

    /**
     * The exception a person can act on for a failed read of process {@code pid} that is not a torn
     * read: {@link ProcessGoneException} for ESRCH, {@link AccessDeniedException} (explaining the rule
     * that applies) for EPERM/EACCES, a plain {@link SpyglassException} otherwise.
     */
    public static SpyglassException toException(long pid, int errno, String what) {
        return switch (classify(errno)) {
            case PROCESS_GONE -> new ProcessGoneException(pid, "process " + pid + " does not exist (any more)" + " while " + what);
            case ACCESS_DENIED -> new AccessDeniedException(AccessDiagnostics.explain(pid, what));
            default -> new SpyglassException("cannot read the memory of process " + pid + " while " + what + ": errno "
                    + errno + " (" + name(errno) + ")");
        };
    }

    /** The symbolic name of the errno values above, {@code "errno N"} for others. */
    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EIO -> "EIO";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EINVAL -> "EINVAL";
            case ENOSYS -> "ENOSYS";
            default -> "errno " + errno;
        };
    }
}
