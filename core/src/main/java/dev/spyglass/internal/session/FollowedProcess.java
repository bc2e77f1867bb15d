package dev.spyglass.internal.session;

import dev.spyglass.CPythonVersion;
import dev.spyglass.SampledProcess;

/**
 * One sampled process (one program of it) as the session knows it while it samples: found by the descendant watch
 * (or the session's target), counted by the sampling thread, listed by any thread.
 */
public final class FollowedProcess {
    private final long pid;
    private final long parentPid;
    private final String command;
    private final CPythonVersion version;
    /** Written by the sampling thread only. */
    private volatile long samples;
    private volatile boolean ended;

    public FollowedProcess(long pid, long parentPid, String command, CPythonVersion version) {
        this.pid = pid;
        this.parentPid = parentPid;
        this.command = command;
        this.version = version;
    }

    /** The process {@code pid} as {@code /proc} shows it now (its parent, its command line). */
    public static FollowedProcess of(long pid, CPythonVersion version) {
        long[] ps = dev.spyglass.internal.os.ProcessTree.parentAndStartTime(pid);
        return new FollowedProcess(pid, ps == null ? -1 : ps[0],
                dev.spyglass.internal.os.ProcessTree.commandLine(pid, DescendantWatch.COMMAND_CHARS), version);
    }

    public long pid() {
        return pid;
    }

    /** Counts {@code n} samples delivered; the sampling thread only. */
    public void counted(long n) {
        if (n != 0) {
            samples += n;
        }
    }

    void ended() {
        ended = true;
    }

    boolean isEnded() {
        return ended;
    }

    public SampledProcess snapshot() {
        return new SampledProcess(pid, parentPid, command, version, samples, ended);
    }
}
