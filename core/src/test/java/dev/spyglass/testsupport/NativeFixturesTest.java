package dev.spyglass.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

import dev.spyglass.PythonScripts;

/** The native-frame fixtures work on their own: the C extension sorts through Python, numpy sorts. */
@Execution(ExecutionMode.CONCURRENT)
class NativeFixturesTest {
    /** As SamplerTest.CPU_BOUND: targets that burn CPU run one at a time. */
    private static final String CPU_BOUND = "cpu-bound-target";

    private static final Pattern SORT_READY = Pattern.compile("ready sorted=(\\d+) calls=(\\d+)");

    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void extensionSortsThroughTheLibcQsortAndThePythonCallbackOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        assertThat(ext.fileName()).startsWith(NativeDemoExtension.MODULE + ".").endsWith(".so");
        Path script = PythonScripts.write("native_sort.py", NativeDemoExtension.SORT_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script, ext.directory().toString())) {
            Matcher m = SORT_READY.matcher(target.readyLine());
            assertThat(m.find()).as("ready line %s", target.readyLine()).isTrue();
            assertThat(Integer.parseInt(m.group(1))).isEqualTo(200);
            // Sorting 200 items takes at least 199 comparisons, each a call of py_compare.
            assertThat(Integer.parseInt(m.group(2))).as("py_compare calls of the first sort").isGreaterThanOrEqualTo(199);
            Thread.sleep(300);
            // The target checks every later sort too and exits on a wrong order.
            assertThat(target.process().isAlive()).as("target still sorting").isTrue();
            assertThat(mappedPaths(target.pid())).as("the target maps the built extension")
                    .contains(ext.library().toRealPath().toString());
        }
    }

    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void extensionSpinsInCWithoutTheGilOn(PythonInterpreter py) throws Exception {
        NativeDemoExtension ext = NativeDemoExtension.build(py);
        Path script = PythonScripts.write("native_spin.py", NativeDemoExtension.SPIN_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script, ext.directory().toString())) {
            long before = cpuTicks(target.pid());
            Thread.sleep(500);
            assertThat(target.process().isAlive()).isTrue();
            // Spinning in C: the target is on a CPU most of the time (ticks are 10 ms; allow a loaded machine).
            assertThat(cpuTicks(target.pid()) - before).as("CPU ticks in 500 ms").isGreaterThanOrEqualTo(5);
        }
    }

    @ForEachPython
    @ResourceLock(CPU_BOUND)
    void numpyArgsortTargetRunsOn(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        // A Debian root whose provisioning put numpy in (layout 2, no reason given) must import it.
        boolean promised = NativeDemoExtension.provisionedProperty(py, "numpy").isPresent();
        if (promised) {
            assertThat(NumpyTargets.unavailableReason(py)).as("numpy in %s, per its provisioning", py.label()).isEmpty();
        }
        NumpyTargets.assumeNumpy(py);
        Path script = PythonScripts.write("numpy_argsort.py", NumpyTargets.ARGSORT_TARGET);
        try (PythonScripts.Running target = PythonScripts.start(py, script)) {
            assertThat(target.readyLine()).startsWith("ready numpy=");
            Thread.sleep(300);
            assertThat(target.process().isAlive()).isTrue();
            assertThat(mappedPaths(target.pid())).as("numpy's C core is mapped")
                    .anyMatch(p -> Path.of(p).getFileName().toString().startsWith("_multiarray_umath"));
        }
    }

    /** The trixie root, once provisioned by this version of the script, has numpy: the issue relies on it. */
    @Test
    void debianTrixieRootHasNumpyWhenProvisioned() {
        PythonInterpreter trixie = PythonInterpreters.available()
                .filter(p -> p.origin() == PythonInterpreter.Origin.PROVISIONED && p.label().startsWith("debian-trixie-"))
                .findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(trixie != null, "no provisioned Debian trixie interpreter");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                NativeDemoExtension.provisionedProperty(trixie, "layout").filter(l -> Integer.parseInt(l) >= 2).isPresent(),
                "the trixie root predates numpy (layout < 2): re-run scripts/provision-pythons.sh");
        assertThat(NativeDemoExtension.provisionedProperty(trixie, "numpy.unavailable")).as("numpy.unavailable").isEmpty();
        assertThat(NumpyTargets.unavailableReason(trixie)).isEmpty();
    }

    private static java.util.Set<String> mappedPaths(long pid) throws java.io.IOException {
        java.util.Set<String> paths = new java.util.HashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps"))) {
            String[] f = line.trim().split("\\s+", 6);
            if (f.length == 6 && f[5].startsWith("/")) {
                paths.add(f[5]);
            }
        }
        return paths;
    }

    /** utime + stime of the process, in clock ticks, from /proc/PID/stat. */
    private static long cpuTicks(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }
}
