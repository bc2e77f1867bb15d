package dev.spyglass.examples;

import java.io.PrintStream;

import dev.spyglass.AccessDeniedException;
import dev.spyglass.InterpreterNotReadyException;
import dev.spyglass.NotAPythonProcessException;
import dev.spyglass.ProcessGoneException;
import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;

/** Turns library errors into one line for the user and an exit status. */
final class Failures {
    static final int USAGE = 2;
    static final int NOT_PYTHON = 3;
    static final int UNSUPPORTED = 4;
    static final int ACCESS_DENIED = 5;
    static final int GONE = 6;
    static final int NOT_READY = 7;
    /** The recording ended with no usable sample: none taken, or every one torn. The file is still written. */
    static final int NO_SAMPLES = 8;
    /**
     * An attached target ended before the recording did: it exited before {@code -d} ran out, or it
     * replaced its program ({@code exec}). The file holds what was recorded until then.
     */
    static final int TARGET_ENDED = 9;
    /** {@code convert}: the input is not a recording (not JSON lines, or a record missing a field); nothing written. */
    static final int BAD_RECORDING = 10;
    /**
     * {@code latency}, {@code trace}: a function to probe is not there (the message lists the closest names, or names
     * the stripped objects it may be in and the command's option for an address: {@link #symbolNotFound}).
     */
    static final int SYMBOL_NOT_FOUND = 12;
    /**
     * {@code latency}: the function fired more often than {@code --max-rate}; {@code trace}: the trigger did (a
     * function inside it is dropped alone). Probing stopped; the report was written.
     */
    static final int RATE_LIMITED = 13;
    static final int OTHER = 1;

    private Failures() {
    }

    /**
     * The one line for a target that ended a recording: {@code process 4242 exited after 3.2 s; the
     * profile holds what was recorded}, or {@code ... replaced its program (exec) after ...}.
     */
    static String targetEnded(ProcessGoneException gone, java.time.Duration elapsed, String holds) {
        String what = gone.programReplaced() ? "replaced its program (exec)" : "exited";
        String reused = !gone.programReplaced() && gone.getMessage() != null
                && gone.getMessage().contains("PID now belongs to another process")
                        ? " (its PID now names another process, which was not recorded)" : "";
        return String.format(java.util.Locale.ROOT, "spyglass: process %d %s after %.1f s%s; %s", gone.pid(), what,
                elapsed.toMillis() / 1000.0, reused, holds);
    }

    /**
     * A function not found: the library's message, and when the function may be in a stripped object without a name
     * ({@link dev.spyglass.SymbolNotFoundException#stripped()}), how to give its address to this command
     * ({@code advice}, e.g. {@code "give that address: --address 0xADDR"}).
     */
    static int symbolNotFound(dev.spyglass.SymbolNotFoundException e, String advice, PrintStream err) {
        String message = e.getMessage().lines().findFirst().orElse("");
        err.println("spyglass: " + message + (e.stripped() ? "; " + advice : ""));
        return SYMBOL_NOT_FOUND;
    }

    static int report(Throwable e, PrintStream err) {
        String message = e.getMessage() != null ? e.getMessage() : e.toString();
        int status = switch (e) {
            case NotAPythonProcessException x -> NOT_PYTHON;
            case UnsupportedPythonVersionException x -> UNSUPPORTED;
            case AccessDeniedException x -> ACCESS_DENIED;
            case dev.spyglass.SymbolNotFoundException x -> SYMBOL_NOT_FOUND;
            // A launched command that ended before it could be sampled: its own exit status, as a
            // failing command's status is passed through once sampling ran.
            case ProcessGoneException x when x.exitStatus().isPresent() -> x.exitStatus().getAsInt();
            case ProcessGoneException x -> GONE;
            case InterpreterNotReadyException x -> NOT_READY;
            case SpyglassException x -> OTHER;
            case java.io.IOException x -> OTHER;
            default -> OTHER;
        };
        err.println("spyglass: " + message.lines().findFirst().orElse(message));
        return status;
    }
}
