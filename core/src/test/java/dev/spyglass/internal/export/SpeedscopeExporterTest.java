package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

class SpeedscopeExporterTest {

    @TempDir
    Path dir;

    private Path export(SpeedscopeExporter.Builder b) throws Exception {
        Path file = dir.resolve("profile.speedscope.json");
        feed(b.build(file));
        return file;
    }

    @Test
    void passesTheSchemaSpeedscopeShips() throws Exception {
        Path file = export(SpeedscopeExporter.builder().metadata(METADATA));

        TestTools.Result r = SpeedscopeSchema.validate(file);

        assertThat(r.stdout().strip()).isEqualTo("valid");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void theSchemaCheckRejectsABrokenFile() throws Exception {
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, """
                {"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":[{"file":"x"}]},
                 "profiles":[{"type":"sampled","name":"t","unit":"parsecs","startValue":0,"endValue":1,
                              "samples":[[0]],"weights":["1"]}]}
                """);

        TestTools.Result r = SpeedscopeSchema.validate(broken);

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stdout()).contains("name").contains("unit");
    }

    @Test
    void holdsOneSampledProfilePerThreadWithTheExpectedStacks() throws Exception {
        JsonNode root = JsonLinesExporterTest.JSON.readTree(export(SpeedscopeExporter.builder().metadata(METADATA))
                .toFile());

        assertThat(root.get("name").asText()).isEqualTo("python3 x.py --n 3");
        JsonNode frames = root.get("shared").get("frames");
        List<String> names = new ArrayList<>();
        frames.forEach(f -> names.add(f.get("name").asText() + "@" + f.path("file").asText() + ":"
                + f.path("line").asInt()));
        assertThat(names).contains("Outer.leaf (/app/x.py:9)@/app/x.py:9", "Outer.leaf (/app/x.py:10)@/app/x.py:10",
                "naïve_ß (/app/tëst_ü.py:2)@/app/tëst_ü.py:2");

        JsonNode profiles = root.get("profiles");
        assertThat(profiles.size()).isEqualTo(2);
        JsonNode main = profiles.get(0);
        assertThat(main.get("name").asText()).isEqualTo("thread 1240 (MainThread)");
        assertThat(root.get("activeProfileIndex").asInt()).isZero();
        assertThat(main.get("unit").asText()).isEqualTo("nanoseconds");
        long sum = 0;
        long leaf9 = 0;
        for (int i = 0; i < main.get("samples").size(); i++) {
            JsonNode stack = main.get("samples").get(i);
            long w = main.get("weights").get(i).asLong();
            sum += w;
            assertThat(names.get(stack.get(0).asInt())).isEqualTo("<module> (/app/x.py:30)@/app/x.py:30");
            if (names.get(stack.get(stack.size() - 1).asInt()).equals("Outer.leaf (/app/x.py:9)@/app/x.py:9")) {
                leaf9 += w;
            }
        }
        assertThat(main.get("samples").size()).isEqualTo(main.get("weights").size());
        assertThat(sum).isEqualTo(main.get("endValue").asLong())
                .isEqualTo((LEAF_9 + LEAF_10 + HELPER_N + ODD_N) * WEIGHT);
        assertThat(leaf9).isEqualTo(LEAF_9 * WEIGHT);
        JsonNode worker = profiles.get(1);
        assertThat(worker.get("endValue").asLong()).isEqualTo(SPIN_N * WEIGHT);
        // ten consecutive identical worker samples (idle ones in between are dropped) merge into one entry
        assertThat(worker.get("samples").size()).isEqualTo(1);
    }
}
