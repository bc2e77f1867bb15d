package dev.spyglass.internal.kernel;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes perf event descriptors of uprobes off the polling thread. Closing a PMU uprobe waits for the kernel to
 * unregister it, grace periods included: 170 - 310 ms for a thread's entry and return events on Linux 6.18 on a
 * loaded 2-core VM (opening them: 10 - 80 ms; docs/performance.md), also while other events keep the same probe.
 * Done on the thread that polls, the events of each thread that exited stopped the polling that long, and a
 * thread started meanwhile went unprobed.
 * A few threads close in parallel (their grace periods overlap); {@link #await} waits until every descriptor
 * given so far is closed, so that a closed {@link UprobeSet} has left no probe behind.
 */
final class EventCloser {
    private static final Logger LOG = LoggerFactory.getLogger(EventCloser.class);
    /** Closing threads: grace periods overlap between them. */
    static final int THREADS = 4;

    private final ThreadPoolExecutor pool;

    EventCloser(String name) {
        pool = new ThreadPoolExecutor(THREADS, THREADS, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true); // the JVM exiting closes the descriptors anyway
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    /** Closes {@code fds} soon, on a closing thread (negative entries, events already closed, are skipped). */
    void closeLater(int[] fds) {
        int[] copy = fds.clone();
        pool.execute(() -> close(copy));
    }

    private static void close(int[] fds) {
        try (PerfSyscalls sys = new PerfSyscalls()) {
            for (int fd : fds) {
                if (fd >= 0) {
                    sys.close(fd);
                }
            }
        }
    }

    /** Waits until every descriptor given is closed (at most {@code seconds}), then stops the closing threads. */
    void await(int seconds) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(seconds, TimeUnit.SECONDS)) {
                LOG.warn("uprobe events still closing after {} s: the kernel removes them when they are", seconds);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
