package dev.spyglass.examples;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@code 100us}, {@code 1ms}, {@code 0.5s}, {@code 2m}; a bare number takes the given default unit. */
final class Durations {
    private static final Pattern DURATION = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*(ns|us|µs|ms|s|m|min|h)?");

    private Durations() {
    }

    static Duration parse(String text, String bareUnit) {
        return parse(null, text, bareUnit);
    }

    /**
     * As {@link #parse(String, String)}, with messages that name the option the text was given to (for example
     * {@code --interval}), so a user with several durations on the command line knows which one is wrong.
     */
    static Duration parse(String option, String text, String bareUnit) {
        String prefix = option == null ? "" : option + ": ";
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    prefix + "'" + text + "' is not a duration (examples: 100us, 1ms, 0.5s, 2m)");
        }
        String unit = m.group(2) != null ? m.group(2) : bareUnit;
        long nanosPerUnit = switch (unit) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m", "min" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> throw new IllegalArgumentException("unknown unit " + unit);
        };
        BigDecimal nanos = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(nanosPerUnit));
        if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException(option == null ? "'" + text + "' is too long (at most about 292 years)"
                    : option + " is too long (at most about 292 years; got " + text + ")");
        }
        Duration d = Duration.ofNanos(nanos.longValue());
        if (d.isZero()) {
            throw new IllegalArgumentException(option == null ? "'" + text + "' must be more than zero"
                    : option + " must be more than zero (got " + text + ")");
        }
        return d;
    }

    static String format(Duration d) {
        long ns = d.toNanos();
        if (ns >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
        }
        if (ns >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.1f ms", ns / 1e6);
        }
        return String.format(Locale.ROOT, "%d us", ns / 1000);
    }
}
