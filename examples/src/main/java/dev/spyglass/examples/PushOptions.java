package dev.spyglass.examples;

import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.export.ProfileMetadata;
import dev.spyglass.export.PushSink;
import dev.spyglass.export.PushStats;
import picocli.CommandLine.Option;

/**
 * The options that send profiles to a fleet profiler ({@code record --push}, {@code agent}): where, in which
 * protocol, how often, with which headers and labels. Builds a {@link PushSink} per target.
 */
final class PushOptions {

    @Option(names = "--push", paramLabel = "URL",
            description = "Also send the profile, every --push-interval, to an OTLP/HTTP profiles endpoint "
                    + "(http://collector:4318/v1development/profiles) or a Pyroscope server (http://pyroscope:4040). "
                    + "user:password@ in the URL is sent as basic authentication.")
    String url;

    @Option(names = "--push-format", paramLabel = "otlp|pyroscope",
            description = "The receiver's protocol. Default: otlp when the URL path ends in /profiles, else "
                    + "pyroscope.")
    String format;

    @Option(names = {"--push-interval", "--every"}, paramLabel = "DURATION", defaultValue = "10s",
            description = "How often a profile is sent. Default: ${DEFAULT-VALUE}.")
    String interval;

    @Option(names = "--push-header", paramLabel = "'NAME: VALUE'",
            description = "An HTTP header sent with every profile (repeatable), e.g. 'Authorization: Bearer TOKEN' "
                    + "or 'X-Scope-OrgID: tenant'.")
    List<String> headers = new ArrayList<>();

    @Option(names = "--push-label", paramLabel = "NAME=VALUE",
            description = "A label every profile carries (repeatable), e.g. env=prod.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--service-name", paramLabel = "NAME",
            description = "service.name / Pyroscope application name. Default: the script's or module's name.")
    String serviceName;

    boolean enabled() {
        return url != null;
    }

    /** What is wrong with the options, or {@code null}; checked before a target is attached or launched. */
    String usageError() {
        if (url == null) {
            return format != null || !headers.isEmpty() || !labels.isEmpty() || serviceName != null
                    ? "--push-format, --push-header, --push-label and --service-name need --push URL" : null;
        }
        try {
            builder(List.of());
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** A builder for a sink sending the profile of the process running {@code command}. */
    PushSink.Builder builder(List<String> command) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--push: not a URL: '" + url + "'");
        }
        PushSink.Builder b;
        try {
            b = PushSink.builder(uri);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--push: " + e.getMessage());
        }
        if (format != null) {
            b.format(PushSink.Format.parse(format));
        }
        b.interval(Durations.parse("--push-interval", interval, "s"));
        for (String header : headers) {
            int colon = header.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--push-header must be 'NAME: VALUE', not '" + header + "'");
            }
            b.header(header.substring(0, colon).strip(), header.substring(colon + 1).strip());
        }
        labels.forEach(b::label);
        return b.serviceName(serviceNameFor(command));
    }

    /** The service name the profiles of {@code command} are sent under. */
    String serviceNameFor(List<String> command) {
        return serviceName != null ? serviceName : serviceNameOf(command);
    }

    /** Starts a sink for one target; its summary goes to {@code err} at {@link Pushing#close}. */
    Pushing start(List<String> command, Supplier<ProfileMetadata> metadata, boolean includeIdle) {
        return new Pushing(builder(command).metadata(metadata).includeIdle(includeIdle).build(), url);
    }

    /** A running push and its summary line. */
    record Pushing(PushSink sink, String url) {

        /** A sink giving each sample to {@code first} and then to the push. */
        SampleSink after(SampleSink first) {
            return new SampleSink() {
                @Override
                public void accept(StackSample sample) {
                    first.accept(sample);
                    sink.accept(sample);
                }
            };
        }

        /** Sends the last window (waiting up to the close timeout) and prints what was sent and dropped. */
        void close(PrintStream err, String prefix) {
            try {
                sink.close();
            } catch (java.io.IOException e) {
                err.println(prefix + "pushing the last profile failed: " + e.getMessage());
            }
            err.println(prefix + summary(sink.stats(), url, sink.format()));
        }
    }

    static String summary(PushStats s, String url, PushSink.Format format) {
        return String.format(Locale.ROOT, "pushed %,d of %,d samples to %s (%s, %,d profiles)%s%s", s.samplesSent(),
                s.samples(), url, format.name().toLowerCase(Locale.ROOT), s.windowsSent(),
                s.samplesDropped() > 0 ? String.format(Locale.ROOT, ", dropped %,d in %,d profiles", s.samplesDropped(),
                        s.windowsDropped()) : "",
                s.lastError().isEmpty() ? "" : " (last error: " + s.lastError() + ")");
    }

    /**
     * A service name from a command line: the script's name without {@code .py} ({@code python3 app.py}: {@code app}),
     * the module of {@code -m} ({@code python -m http.server}: {@code http.server}), else {@code python}.
     */
    static String serviceNameOf(List<String> command) {
        for (int i = 1; i < command.size(); i++) {
            String arg = command.get(i);
            if (arg.equals("-m") && i + 1 < command.size()) {
                return command.get(i + 1);
            }
            if (arg.equals("-c")) {
                break;
            }
            if (!arg.startsWith("-")) {
                String name = arg.substring(arg.lastIndexOf('/') + 1);
                name = name.endsWith(".py") ? name.substring(0, name.length() - 3) : name;
                return name.isEmpty() ? "python" : name;
            }
        }
        return "python";
    }
}
