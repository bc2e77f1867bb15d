package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Real frames in the states a sampler meets (callers mid-call on multi-line expressions, handlers,
 * class bodies, comprehensions, suspended and unstarted generators, coroutines): the line
 * {@link LineTable} gives for the frame's byte offset must be the interpreter's own {@code f_lineno}.
 * Python's {@code f_lasti} is the byte offset a sampler computes from the raw frame (≤3.9 {@code f_lasti},
 * 3.10 {@code f_lasti * 2}, 3.11+ {@code (prev_instr | instr_ptr) - co_code_adaptive}), -1 before the
 * first instruction.
 */
class LiveFrameLineTest {

    @ForEachPython
    void reportsTheInterpretersLineForCapturedFrames(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        JsonNode root = OracleScripts.run(py, "live_frames_dump.py");
        PythonVersion version = OracleScripts.version(root, py.freeThreaded());
        JsonNode codes = root.get("codes");
        List<String> mismatches = new ArrayList<>();
        Set<String> states = new HashSet<>();
        for (JsonNode f : root.get("frames")) {
            JsonNode code = codes.get(f.get("code").asText());
            LineTable lt = LineTable.decode(version, OracleScripts.hex(code.get("table")), code.get("first").asInt());
            int lasti = f.get("lasti").asInt();
            int expected = f.get("lineno").asInt();
            states.add(f.get("state").asText());
            if (lt.line(lasti) != expected) {
                mismatches.add(f.get("state").asText() + " in " + code.get("name").asText() + " at byte offset "
                        + lasti + ": line " + lt.line(lasti) + ", f_lineno " + expected);
            }
            if (version.isAtLeast(3, 11) && lasti >= 0) {
                assertThat(lt.location(lasti).line()).isEqualTo(expected);
            }
        }
        assertThat(root.get("frames").size()).as("frames captured").isGreaterThan(50);
        assertThat(states).contains("stack", "unstarted generator", "suspended generator 0", "suspended generator 2");
        assertThat(mismatches).as("on %s", py).isEmpty();
    }
}
