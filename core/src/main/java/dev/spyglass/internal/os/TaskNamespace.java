package dev.spyglass.internal.os;

import java.nio.file.Path;
import java.util.Collection;

/**
 * The target's PID namespace seen from ours, for {@link TaskStates}: a process in a container records its own,
 * namespaced, thread ids in memory (CPython's {@code native_thread_id}, glibc's {@code struct pthread}), and the
 * {@code NSpid} line of each thread's {@code status} lists its ids from the namespace of our {@code /proc} down to
 * its own (the last entry). Keeps the target's ids of the listed tasks, to translate them back.
 */
final class TaskNamespace {
    /** The target lives in a PID namespace below ours: ids read from its memory need translating. */
    final boolean namespaced;
    /** The target's PID as it sees itself: the host PID unless {@link #namespaced}. */
    final long targetPid;
    /** Namespaced TID to task; used only when {@link #namespaced}. */
    private LongMap<Task> byTargetTid = new LongMap<>(64);

    TaskNamespace(long pid) {
        long[] ours = NsPids.of(Path.of("/proc/self/status"));
        long[] theirs = NsPids.of(Path.of("/proc", Long.toString(pid), "status"));
        // More entries than our own line has means the target is in a descendant namespace (a container).
        this.namespaced = ours.length > 0 && theirs.length > ours.length;
        this.targetPid = namespaced ? theirs[theirs.length - 1] : pid;
    }

    /** The id in the target's own namespace of the task in {@code dir} (host TID {@code tid}), -1 when unknown. */
    long targetTid(Path dir, long tid) {
        if (!namespaced) {
            return tid;
        }
        long[] ids = NsPids.of(dir.resolve("status"));
        return ids.length > 0 ? ids[ids.length - 1] : -1;
    }

    /** The listed task the target knows as {@code targetTid}, or null. */
    Task byTargetTid(long targetTid) {
        return byTargetTid.get(targetTid);
    }

    /** Adds a task found without a listing. */
    void add(Task t) {
        if (namespaced && t.targetTid > 0) {
            byTargetTid.put(t.targetTid, t);
        }
    }

    /** Rebuilds the translation from the listed tasks. */
    void reindex(Collection<Task> tasks) {
        LongMap<Task> m = new LongMap<>(namespaced ? Math.max(64, tasks.size() * 2) : 8);
        for (Task t : tasks) {
            if (namespaced && t.targetTid > 0) {
                m.put(t.targetTid, t);
            }
        }
        byTargetTid = m;
    }

    void clear() {
        byTargetTid = new LongMap<>(8);
    }
}
