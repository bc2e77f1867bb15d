package dev.spyglass.internal.export;

/**
 * A root of an aggregating format: one thread, or the threads merged by a
 * {@link dev.spyglass.export.ThreadGrouping}.
 *
 * @param tid     the thread's TID (else ident) when the root holds one thread, else -1
 * @param name    the thread's latest name, or the name or pattern the threads share, or {@code all threads}
 * @param threads how many threads the root holds
 * @param command the process's command line when the profile holds several processes (the outermost level then
 *                tells them apart), else empty
 */
record ThreadKey(long pid, long tid, String name, int threads, String command) {

    ThreadKey(long pid, long tid, String name, int threads) {
        this(pid, tid, name, threads, "");
    }

    /** One thread. */
    ThreadKey(long pid, long tid, String name) {
        this(pid, tid, name, 1);
    }

    /** {@code thread 1240 (MainThread)}, {@code Thread-* (process_request_thread) (150 threads)}. */
    String label() {
        if (tid != -1) {
            return "thread " + Long.toUnsignedString(tid) + " (" + name + ")";
        }
        return threads == 1 || name.equals(ThreadRoots.ALL_THREADS) ? name : name + " (" + threads + " threads)";
    }

    /**
     * The outermost level of every format that has one: {@code process 1234}, and in a profile of several processes
     * (child processes followed) {@code process 1234 (python3 work.py)}. The one place exporters take it from.
     */
    String processLabel() {
        return command.isEmpty() ? "process " + pid : "process " + pid + " (" + command + ")";
    }

    /**
     * The level above the process when the target runs in a container: {@code container 3f2a9c1b2d4e} (the short
     * id {@code docker ps} shows), or empty when {@code container} is. The container is the profile's
     * ({@link dev.spyglass.export.ProfileMetadata#container()}), every process's: a child process inherits its
     * parent's control group, so the followed children of a containerised target run in its container (a recording
     * read back knows no other). The one place exporters take it from.
     */
    static String containerLabel(String container) {
        return container.isEmpty() ? "" : "container " + container;
    }
}
