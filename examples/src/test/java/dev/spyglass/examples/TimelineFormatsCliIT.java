package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@code spyglass record -o x.gecko.json} and {@code -o x.trace.json}: the formats inferred from the double
 * extensions, written from a real launched interpreter, with the hot function and the recording's metadata in them.
 */
class TimelineFormatsCliIT {

    @TempDir
    Path dir;

    private SpyglassCliIT.Result record(PythonInterpreter py, Path out) throws Exception {
        Path script = dir.resolve("hot.py");
        Files.writeString(script, SpyglassCliIT.SCRIPT);
        List<String> cmd = new ArrayList<>(SpyglassCliIT.cli("record", "-i", "1ms", "-o", out.toString(), "--"));
        cmd.addAll(py.commandLine(script.toString(), "2.5"));
        SpyglassCliIT.Result r = SpyglassCliIT.run(cmd, py.environment(), 60);
        assertThat(r.exit()).as("exit: %s", r.err()).isZero();
        assertThat(r.err()).contains("spyglass: wrote " + (out.toString().endsWith(".gecko.json") ? "gecko" : "chrome")
                + " profile to ").contains(out.toAbsolutePath().toString());
        return r;
    }

    @Test
    void recordWritesAFirefoxProfilerFileForAGeckoJsonName() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path out = dir.resolve("x.gecko.json");
        record(py, out);
        JsonNode p = SpyglassCliIT.JSON.readTree(out.toFile());
        assertThat(p.get("meta").get("preprocessedProfileVersion").asInt()).isEqualTo(70);
        assertThat(p.get("meta").get("product").asText()).isEqualTo("Spyglass");
        assertThat(p.get("meta").get("extra").toString()).contains("\"" + py.version() + "\"");
        JsonNode shared = p.get("shared");
        // the func most often at the top of a stack, over every thread's samples, is hot_leaf
        Map<String, Integer> leaves = new HashMap<>();
        for (JsonNode t : p.get("threads")) {
            assertThat(t.get("samples").get("stack").size()).isEqualTo(t.get("samples").get("length").asInt());
            for (JsonNode s : t.get("samples").get("stack")) {
                int frame = shared.get("stackTable").get("frame").get(s.asInt()).asInt();
                int func = shared.get("frameTable").get("func").get(frame).asInt();
                leaves.merge(shared.get("stringArray").get(shared.get("funcTable").get("name").get(func).asInt())
                        .asText(), 1, Integer::sum);
            }
        }
        assertThat(leaves.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey())
                .as("leaves %s", leaves).isEqualTo("hot_leaf");
    }

    @Test
    void recordWritesATraceEventFileForATraceJsonName() throws Exception {
        PythonInterpreter py = SpyglassCliIT.someInterpreter();
        Path out = dir.resolve("x.trace.json");
        record(py, out);
        JsonNode trace = SpyglassCliIT.JSON.readTree(out.toFile());
        int open = 0;
        boolean hot = false;
        boolean mainThreadNamed = false;
        for (JsonNode e : trace.get("traceEvents")) {
            switch (e.get("ph").asText()) {
                case "B" -> {
                    open++;
                    hot |= e.get("name").asText().equals("hot_leaf");
                }
                case "E" -> open--;
                case "M" -> mainThreadNamed |= e.get("name").asText().equals("thread_name")
                        && e.get("args").get("name").asText().equals("MainThread");
                default -> throw new AssertionError("unexpected event " + e);
            }
        }
        assertThat(open).as("B events without their E").isZero();
        assertThat(hot).as("a hot_leaf slice").isTrue();
        assertThat(mainThreadNamed).isTrue();
        assertThat(trace.get("otherData").get("python").asText()).isEqualTo(py.version().toString());
    }
}
