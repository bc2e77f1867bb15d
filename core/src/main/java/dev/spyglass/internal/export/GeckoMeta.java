package dev.spyglass.internal.export;

import java.time.Duration;

import dev.spyglass.export.ProfileMetadata;

/**
 * The {@code meta} object of a {@link GeckoProfileExporter} profile: the fields the processed format requires
 * (interval, start time, versions, categories, marker schema), and the recording's metadata as an {@code extra}
 * section, which the profiler shows in its profile-info panel.
 */
final class GeckoMeta {
    private GeckoMeta() {
    }

    static void write(StringBuilder sb, ProfileMetadata m, long startNanos, boolean nativeOrKernel, int busiest) {
        Duration interval = m.interval();
        // interval is required; when unknown, 1 ms (the CLI's default) only scales the profiler's sample graph.
        String intervalMs = interval.isZero() || interval.isNegative() ? "1"
                : GeckoProfileExporter.millis(interval.toNanos());
        sb.append("{\"interval\":").append(intervalMs).append(",\"startTime\":")
                .append(GeckoProfileExporter.millis(startNanos)).append(",\"processType\":0,\"product\":\"Spyglass\"")
                .append(",\"appBuildID\":\"").append(SpyglassVersion.VERSION).append('"');
        // stackwalk 1: native stacks were walked; symbolicated: every frame already has its name, so the profiler
        // must not look for symbol servers for libraries the file does not list.
        sb.append(",\"stackwalk\":").append(nativeOrKernel ? 1 : 0).append(",\"symbolicated\":true")
                .append(",\"version\":").append(GeckoProfileExporter.GECKO_VERSION)
                .append(",\"preprocessedProfileVersion\":").append(GeckoProfileExporter.PROCESSED_VERSION)
                .append(",\"usesOnlyOneStackType\":").append(!nativeOrKernel).append(",\"importedFrom\":\"Spyglass\"");
        if (!m.commandLine().isEmpty()) {
            sb.append(",\"arguments\":");
            JsonText.string(sb, m.commandLine());
        }
        if (busiest >= 0) {
            sb.append(",\"initialSelectedThreads\":[").append(busiest).append(']');
        }
        sb.append(',');
        GeckoSharedTables.writeCategories(sb);
        sb.append(",\"markerSchema\":[{\"name\":\"").append(GeckoProfileExporter.GIL_MARKER)
                .append("\",\"tooltipLabel\":\"GIL released\",\"tableLabel\":\"GIL released\"")
                .append(",\"chartLabel\":\"GIL released\",\"display\":[\"marker-chart\",\"marker-table\",")
                .append("\"timeline-overview\"],\"fields\":[],\"description\":\"The thread was in Python code without ")
                .append("holding the GIL (waiting for I/O, a lock, sleeping, or running C code that released it).\"}]");
        sb.append(",\"extra\":[{\"label\":\"Recording\",\"entries\":[");
        int n = 0;
        n = entry(sb, n, "Command", "string", m.commandLine().isEmpty() ? null : JsonText.string(m.commandLine()));
        n = entry(sb, n, "Process", "pid", m.pid() >= 0 ? "\"" + m.pid() + "\"" : null);
        n = entry(sb, n, "Container", "string", m.container().isEmpty() ? null : JsonText.string(m.container()));
        n = entry(sb, n, "Python", "string", m.pythonVersion().isEmpty() ? null : JsonText.string(m.pythonVersion()));
        n = entry(sb, n, "Mode", "string", m.mode().isEmpty() ? null : JsonText.string(m.mode()));
        n = entry(sb, n, "Interval", "milliseconds", interval.isZero() ? null : intervalMs);
        n = entry(sb, n, "Duration", "milliseconds",
                m.duration().isZero() ? null : GeckoProfileExporter.millis(m.duration().toNanos()));
        n = entry(sb, n, "Achieved rate (ticks/s)", "decimal",
                Double.isNaN(m.achievedRate()) ? null : JsonText.number(m.achievedRate()));
        n = entry(sb, n, "Samples", "integer", m.samples() >= 0 ? Long.toString(m.samples()) : null);
        n = entry(sb, n, "Torn samples", "integer", m.tornSamples() >= 0 ? Long.toString(m.tornSamples()) : null);
        entry(sb, n, "Dropped samples", "integer", m.droppedSamples() >= 0 ? Long.toString(m.droppedSamples()) : null);
        sb.append("]}]}");
    }

    /** Appends one entry when {@code json} (the value as JSON) is known; returns the count of entries written. */
    private static int entry(StringBuilder sb, int written, String label, String format, String json) {
        if (json == null) {
            return written;
        }
        sb.append(written == 0 ? "" : ",").append("{\"label\":");
        JsonText.string(sb, label).append(",\"format\":\"").append(format).append("\",\"value\":").append(json)
                .append('}');
        return written + 1;
    }
}
