package dev.spyglass.examples;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import dev.spyglass.SamplingSession;
import dev.spyglass.SamplingStats;

/** A one-line status on stderr, rewritten in place, shown only when stderr is a terminal. */
final class LiveStatus {
    private final Thread thread;

    private LiveStatus(Thread thread) {
        this.thread = thread;
    }

    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false;
        }
    }

    static LiveStatus startIfTerminal(PrintStream err, SamplingSession session, Path out) {
        if (!stderrIsTerminal()) {
            return new LiveStatus(null);
        }
        Thread t = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(250);
                    SamplingStats s = session.stats();
                    long tries = s.samples() + s.tornSamples();
                    err.printf(Locale.ROOT, "\r\033[K  %s  %,d samples  %,.0f/s  torn %.2f%%  -> %s",
                            Durations.format(s.elapsed()), s.samples(), s.achievedRate(),
                            tries == 0 ? 0.0 : 100.0 * s.tornSamples() / tries, out.getFileName());
                    err.flush();
                }
            } catch (InterruptedException e) {
                // stop
            }
        }, "spyglass-status");
        t.setDaemon(true);
        t.start();
        return new LiveStatus(t);
    }

    void stop() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.err.print("\r\033[K");
            System.err.flush();
        }
    }
}
