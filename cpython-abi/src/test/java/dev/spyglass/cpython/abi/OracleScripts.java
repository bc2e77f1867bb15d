package dev.spyglass.cpython.abi;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.spyglass.testsupport.PythonInterpreter;

/** Runs the oracle scripts in src/test/resources in a real interpreter and parses their JSON. */
final class OracleScripts {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OracleScripts() {
    }

    static JsonNode run(PythonInterpreter py, String resource) throws IOException, InterruptedException {
        String script;
        try (InputStream in = OracleScripts.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String out = py.run(script, 60);
        return JSON.readTree(out);
    }

    static byte[] hex(JsonNode node) {
        return HexFormat.of().parseHex(node.asText());
    }

    static PythonVersion version(JsonNode root, boolean freeThreaded) {
        return PythonVersion.fromHex(root.get("hexversion").asLong(), freeThreaded);
    }
}
