package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** {@link LeakReport#meaning()} per level, and on a build whose inlined pymalloc bypasses the probes. */
class LeakReportMeaningTest {
    private static LeakReport report(String level, String probes) {
        return new LeakReport(1, level, probes, 1, 0, 0, 0, 0, 0, 0, List.of(), new double[0]);
    }

    @Test
    void saysWhatEachLevelSeesAndWhenTheBuildHidesMostAllocations() {
        assertThat(report("exact", "_PyObject_Malloc / _PyObject_Free in libpython3.12.so").meaning())
                .startsWith("Exact level: every small-object allocation");
        assertThat(report("coarse", "_PyMem_RawMalloc / _PyMem_RawFree in python3.11 (pymalloc arenas not probed:"
                + " ... not found (symbols stripped): a leak of small objects does not show)").meaning())
                .startsWith("Coarse level").contains("a leak of small objects alone does not show")
                .doesNotContain("<pymalloc arena>");
        assertThat(report("coarse", "_PyMem_RawMalloc / _PyMem_RawFree in libpython3.12.so, pymalloc arenas:"
                + " _PyMem_ArenaAlloc / _PyMem_ArenaFree").meaning())
                .startsWith("Coarse level").contains("<pymalloc arena>").contains("a sample")
                .contains("only when wholly empty").doesNotContain("does not show");
        String bypassed = report("exact", "PyObject_Malloc / PyObject_Free in python3.13 (the build's inlined copies"
                + " of pymalloc bypass PyObject_Malloc while its allocator table holds the default (0x528050): most"
                + " allocations are not seen)").meaning();
        assertThat(bypassed).contains("most allocations are not seen").doesNotContain("every small-object");
    }
}
