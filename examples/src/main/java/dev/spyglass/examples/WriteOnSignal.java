package dev.spyglass.examples;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

/**
 * Runs a probing command so that Ctrl-C or SIGTERM still writes its output: a shutdown hook calls
 * {@code onSignal} (which makes the command's loop end) and holds the JVM up to 5 s until the command
 * {@linkplain CountDownLatch#countDown counts down} the latch it is given, once its output is written. The probes
 * themselves need no hook: they close with their file descriptors.
 */
final class WriteOnSignal {
    private WriteOnSignal() {
    }

    static int run(Runnable onSignal, ToIntFunction<CountDownLatch> command) {
        CountDownLatch written = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            onSignal.run();
            try {
                written.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return command.applyAsInt(written);
        } finally {
            written.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already
            }
        }
    }
}
