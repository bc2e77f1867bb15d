package dev.spyglass;

import java.util.Objects;

/**
 * A process a {@link SamplingSession} sampled: the target itself, and with {@link Sampler.Builder#followChildren}
 * each CPython process among its descendants ({@link SamplingSession#processes()}).
 *
 * @param pid       the process id (in the caller's PID namespace), as in {@link ThreadStack#pid()}
 * @param parentPid the parent's process id when the process was found, -1 when unknown
 * @param command   its command line when it was found (arguments joined by spaces, at most 256 characters), or
 *                  the kernel's name for it; empty when it could not be read; never null
 * @param version   the CPython version it runs; never null
 * @param samples   how many samples of it the session delivered or dropped for a full queue (not torn ones)
 * @param ended     {@code true} once it exited or replaced its program ({@code exec}); a process that
 *                  {@code exec}s another CPython is listed again for the new program
 */
public record SampledProcess(long pid, long parentPid, String command, CPythonVersion version, long samples,
        boolean ended) {

    /** @throws NullPointerException when {@code command} or {@code version} is null */
    public SampledProcess {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(version, "version");
    }
}
