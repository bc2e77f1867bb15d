package dev.spyglass.internal.export;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A strict check of a Firefox Profiler processed profile, written from the profiler's own type definitions
 * ({@code src/types/profile.ts} and {@code src/types/markers.ts} of firefox-devtools/profiler at
 * {@code PROCESSED_PROFILE_VERSION} 70, and {@code docs-developer/CHANGELOG-formats.md}), independent of the writer:
 * every required field present with its type, every table's columns as long as its {@code length}, every index in
 * range (stack → frame → func → string, source, resource; sample → stack; marker → string, category), the stack
 * table in topological order ({@code prefixOffset}), sample times in order, marker data naming a schema. The
 * profiler's importer itself checks none of this (it trusts a processed file and only upgrades its version), so a
 * violation here is a file the profiler would load and then fail on or show wrongly.
 */
final class GeckoProcessedFormat {
    static final Set<String> COLORS = Set.of("transparent", "purple", "green", "orange", "yellow", "lightblue", "blue",
            "brown", "magenta", "red", "lightred", "darkgrey", "grey");

    private final List<String> errors = new ArrayList<>();

    private GeckoProcessedFormat() {
    }

    /** Every violation found in {@code profile}; empty when it is a valid version-70 processed profile. */
    static List<String> violations(JsonNode profile) {
        GeckoProcessedFormat v = new GeckoProcessedFormat();
        v.check(profile);
        return v.errors;
    }

    private void check(JsonNode p) {
        JsonNode meta = p.path("meta");
        for (String f : List.of("interval", "startTime", "processType", "version", "preprocessedProfileVersion")) {
            require(meta.path(f).isNumber(), "meta." + f + " is a number");
        }
        require(meta.path("preprocessedProfileVersion").asInt() == 70, "meta.preprocessedProfileVersion is 70");
        require(meta.path("interval").asDouble() > 0, "meta.interval > 0");
        require(meta.path("product").isTextual(), "meta.product is a string");
        require(meta.path("stackwalk").isInt() && meta.path("stackwalk").asInt() >= 0
                && meta.path("stackwalk").asInt() <= 1, "meta.stackwalk is 0 or 1");
        require(meta.path("markerSchema").isArray(), "meta.markerSchema is an array");
        Set<String> schemas = new HashSet<>();
        for (JsonNode s : meta.path("markerSchema")) {
            require(s.path("name").isTextual() && s.path("display").isArray() && s.path("fields").isArray(),
                    "a marker schema has name, display and fields");
            schemas.add(s.path("name").asText());
        }
        JsonNode categories = meta.path("categories");
        require(categories.isArray() && !categories.isEmpty(), "meta.categories is a non-empty array");
        for (JsonNode c : categories) {
            require(c.path("name").isTextual() && COLORS.contains(c.path("color").asText())
                    && c.path("subcategories").isArray() && !c.path("subcategories").isEmpty(),
                    "category " + c + " has a name, a known color and subcategories");
        }
        for (JsonNode e : meta.path("extra")) {
            require(e.path("label").isTextual() && e.path("entries").isArray(), "an extra section has label, entries");
            e.path("entries").forEach(x -> require(x.path("label").isTextual() && x.has("format") && x.has("value"),
                    "an extra entry has label, format, value"));
        }
        require(p.path("libs").isArray(), "libs is an array");
        int libs = p.path("libs").size();

        JsonNode sh = p.path("shared");
        int strings = sh.path("stringArray").size();
        require(sh.path("stringArray").isArray(), "shared.stringArray is an array");
        sh.path("stringArray").forEach(s -> require(s.isTextual(), "every string is a string"));
        JsonNode sources = table(sh, "sources", "id", "filename", "startLine", "startColumn", "sourceMapURL", "content");
        int nSources = sources.path("length").asInt();
        indexes(sources, "filename", strings, false, false);
        indexes(sources, "sourceMapURL", strings, true, false);
        JsonNode locations = table(sh, "sourceLocationTable", "source", "line", "column");
        indexes(locations, "source", nSources, false, false);
        int nLocations = locations.path("length").asInt();
        JsonNode resources = table(sh, "resourceTable", "name", "host", "type");
        indexes(resources, "name", strings, false, false);
        indexes(resources, "host", strings, true, false);
        indexes(resources, "type", 6, false, false);
        JsonNode symbols = table(sh, "nativeSymbols", "libIndex", "address", "name", "functionSize");
        indexes(symbols, "libIndex", libs, false, false);
        indexes(symbols, "name", strings, false, false);
        JsonNode funcs = table(sh, "funcTable", "name", "isJS", "relevantForJS", "resource", "source", "lineNumber",
                "columnNumber", "originalLocation");
        int nFuncs = funcs.path("length").asInt();
        indexes(funcs, "name", strings, false, false);
        indexes(funcs, "resource", resources.path("length").asInt(), false, true);
        indexes(funcs, "source", nSources, true, false);
        indexes(funcs, "originalLocation", nLocations, true, false);
        for (String b : List.of("isJS", "relevantForJS")) {
            funcs.path(b).forEach(x -> require(x.isBoolean(), "funcTable." + b + " holds booleans"));
        }
        JsonNode frames = table(sh, "frameTable", "address", "lib", "inlineDepth", "category", "subcategory", "func",
                "nativeSymbol", "innerWindowID", "line", "column", "originalLocation");
        int nFrames = frames.path("length").asInt();
        indexes(frames, "func", nFuncs, false, false);
        indexes(frames, "lib", libs, false, true);
        indexes(frames, "category", categories.size(), true, false);
        indexes(frames, "nativeSymbol", symbols.path("length").asInt(), true, false);
        indexes(frames, "originalLocation", nLocations, true, false);
        for (int i = 0; i < nFrames; i++) {
            JsonNode cat = frames.path("category").path(i);
            JsonNode sub = frames.path("subcategory").path(i);
            if (!cat.isNull()) {
                require(sub.isInt() && sub.asInt() >= 0
                        && sub.asInt() < categories.path(cat.asInt()).path("subcategories").size(),
                        "frame " + i + "'s subcategory is one of its category's");
            }
            require(frames.path("address").path(i).asLong() >= -1, "frame address is -1 or an offset");
            JsonNode line = frames.path("line").path(i);
            require(line.isNull() || line.isInt() && line.asInt() > 0, "frame line is null or 1-based");
        }
        JsonNode stacks = table(sh, "stackTable", "frame", "prefixOffset");
        int nStacks = stacks.path("length").asInt();
        indexes(stacks, "frame", nFrames, false, false);
        for (int i = 0; i < nStacks; i++) {
            int off = stacks.path("prefixOffset").path(i).asInt(-1);
            require(off >= 0 && off <= i, "stack " + i + "'s prefixOffset points back to an earlier stack or is 0");
        }

        require(p.path("threads").isArray(), "threads is an array");
        for (JsonNode t : p.path("threads")) {
            String where = "thread " + t.path("name");
            require(t.path("processType").isTextual() && t.path("processStartupTime").isNumber()
                    && t.path("registerTime").isNumber() && t.path("pausedRanges").isArray()
                    && t.path("name").isTextual() && t.path("isMainThread").isBoolean() && t.path("pid").isTextual()
                    && (t.path("tid").isNumber() || t.path("tid").isTextual()), where + " has the required fields");
            require(t.has("processShutdownTime") && t.has("unregisterTime"), where + " has the nullable times");
            JsonNode samples = table(t, "samples", "stack", "time", "weightType");
            int n = samples.path("length").asInt();
            indexes(samples, "stack", nStacks, true, false);
            String type = samples.path("weightType").asText();
            require(Set.of("samples", "tracing-ms", "bytes").contains(type), where + " has a known weightType");
            JsonNode weight = samples.path("weight");
            require(weight.isNull() || weight.isArray() && weight.size() == n, where + ": weight null or one a sample");
            double last = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                JsonNode time = samples.path("time").path(i);
                require(time.isNumber() && time.asDouble() >= last, where + ": sample times are numbers in order");
                last = time.asDouble();
                require(weight.isNull() || weight.path(i).isNumber(), where + ": weights are numbers");
            }
            JsonNode markers = table(t, "markers", "data", "name", "startTime", "endTime", "phase", "category");
            indexes(markers, "name", strings, false, false);
            indexes(markers, "phase", 4, false, false);
            indexes(markers, "category", categories.size(), false, false);
            for (int i = 0; i < markers.path("length").asInt(); i++) {
                JsonNode data = markers.path("data").path(i);
                require(data.isNull() || schemas.contains(data.path("type").asText()),
                        where + ": marker data names a schema");
                int phase = markers.path("phase").path(i).asInt();
                JsonNode start = markers.path("startTime").path(i);
                JsonNode end = markers.path("endTime").path(i);
                require((phase == 3 || start.isNumber()) && (phase == 0 || phase == 2 || end.isNumber()),
                        where + ": marker times its phase reads are numbers");
                require(phase != 1 || end.asDouble() >= start.asDouble(), where + ": an interval ends after it starts");
            }
        }
    }

    /** The table {@code name} of {@code parent}: an integer length and every column an array of that length. */
    private JsonNode table(JsonNode parent, String name, String... columns) {
        JsonNode t = parent.path(name);
        require(t.path("length").isInt(), name + ".length is an integer");
        for (String c : columns) {
            JsonNode col = t.path(c);
            if (c.equals("weightType")) {
                require(col.isTextual(), name + ".weightType is a string");
            } else {
                require(col.isArray() && col.size() == t.path("length").asInt(),
                        name + "." + c + " is an array of length " + t.path("length"));
            }
        }
        return t;
    }

    /** Every value of the column is an index into a list of {@code size} (or null / -1 where allowed). */
    private void indexes(JsonNode table, String column, int size, boolean nullable, boolean minusOne) {
        for (JsonNode v : table.path(column)) {
            boolean ok = v.isNull() ? nullable
                    : v.isInt() && (v.asInt() >= 0 && v.asInt() < size || minusOne && v.asInt() == -1);
            require(ok, column + " value " + v + " is an index below " + size);
        }
    }

    private void require(boolean ok, String what) {
        if (!ok && errors.size() < 20) {
            errors.add(what);
        }
    }
}
