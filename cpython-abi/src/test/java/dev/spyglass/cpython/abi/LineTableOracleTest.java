package dev.spyglass.cpython.abi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Every offset of every code object in a varied corpus (big forward and backward line jumps, >255-byte
 * lines, >4096-line functions, wide columns, comprehensions, closures, async, match, except*, type
 * parameters) compiled by each real interpreter: {@link LineTable} must report what the interpreter
 * reports ({@code dis.findlinestarts} / {@code co_lines()} / {@code co_positions()} for all offsets,
 * and {@code PyCode_Addr2Line} / {@code PyCode_Addr2Location} called through ctypes for sampled ones,
 * including negative and past-the-end offsets).
 */
class LineTableOracleTest {

    @ForEachPython
    void decodesEveryCodeObjectLikeTheInterpreter(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        JsonNode root = OracleScripts.run(py, "linetable_dump.py");
        PythonVersion version = OracleScripts.version(root, py.freeThreaded());
        List<String> mismatches = new ArrayList<>();
        int offsetsChecked = 0;
        int codeObjects = 0;
        for (JsonNode co : root.get("code_objects")) {
            codeObjects++;
            String where = co.get("source").asText() + ":" + co.get("name").asText() + " (first line "
                    + co.get("first").asInt() + ")";
            byte[] table = OracleScripts.hex(co.get("table"));
            int first = co.get("first").asInt();
            LineTable lt = LineTable.decode(version, table, first);
            int codeLen = co.get("code_len").asInt();
            if (version.isAtLeast(3, 10)) {
                assertThat(lt.codeEnd()).as("%s: table covers the code", where).isEqualTo(codeLen);
            }

            JsonNode lines = co.get("lines");
            assertThat(lines.size()).isEqualTo(codeLen);
            for (int off = 0; off < codeLen; off++) {
                offsetsChecked++;
                int expected = lines.get(off).asInt();
                int actual = lt.line(off);
                if (actual != expected) {
                    mismatches.add(where + " offset " + off + ": line " + actual + ", interpreter says " + expected);
                }
            }
            for (JsonNode pair : co.get("addr2line")) {
                int off = pair.get(0).asInt();
                int expected = pair.get(1).asInt();
                int actual = lt.line(off);
                offsetsChecked++;
                if (actual != expected) {
                    mismatches.add(where + " offset " + off + ": line " + actual + ", PyCode_Addr2Line says " + expected);
                }
            }
            if (version.isAtLeast(3, 11)) {
                JsonNode positions = co.get("positions");
                assertThat(positions.size()).as("%s: one position per code unit", where).isEqualTo(codeLen / 2);
                for (int unit = 0; unit < positions.size(); unit++) {
                    JsonNode p = positions.get(unit);
                    Location expected = new Location(p.get(0).asInt(), p.get(1).asInt(), p.get(2).asInt(), p.get(3).asInt());
                    // Both bytes of a code unit belong to it.
                    for (int off = 2 * unit; off < 2 * unit + 2; off++) {
                        offsetsChecked++;
                        Location actual = lt.location(off);
                        if (!actual.equals(expected)) {
                            mismatches.add(where + " offset " + off + ": " + actual + ", co_positions says " + expected);
                        }
                    }
                }
                for (JsonNode q : co.get("addr2loc")) {
                    int off = q.get(0).asInt();
                    Location expected = new Location(q.get(1).asInt(), q.get(2).asInt(), q.get(3).asInt(), q.get(4).asInt());
                    offsetsChecked++;
                    if (!lt.location(off).equals(expected)) {
                        mismatches.add(where + " offset " + off + ": " + lt.location(off)
                                + ", PyCode_Addr2Location says " + expected);
                    }
                }
            } else {
                for (int off = 0; off < codeLen; off++) {
                    assertThat(lt.location(off)).isEqualTo(Location.ofLine(lt.line(off)));
                }
            }
        }
        assertThat(codeObjects).as("code objects in the corpus").isGreaterThan(20);
        assertThat(mismatches.subList(0, Math.min(20, mismatches.size())))
                .as("%d of %d offsets differ on %s (first 20 shown)", mismatches.size(), offsetsChecked, py)
                .isEmpty();
    }
}
