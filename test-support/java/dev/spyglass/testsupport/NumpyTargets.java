package dev.spyglass.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * numpy in an interpreter, for tests of native frames in a real extension: Debian's python3-numpy,
 * which scripts/provision-pythons.sh unpacks into the Debian roots whose suite builds it for that
 * interpreter (trixie's 3.13; sid's where its numpy has a build). Other interpreters usually have no
 * numpy, and their tests skip with the reason.
 */
public final class NumpyTargets {

    /**
     * A target whose main thread sorts a million random doubles with {@code numpy.argsort} forever,
     * under the Python function {@code py_argsort_caller} called by {@code <module>}; the sort runs in
     * numpy's C code ({@code _multiarray_umath}). It checks the first order and exits with a message
     * when it is wrong; then prints {@code ready numpy=VERSION}.
     */
    public static final String ARGSORT_TARGET = String.join("\n",
            "import sys",
            "import numpy",
            "",
            "data = numpy.random.RandomState(11).random_sample(1000000)",
            "",
            "def py_argsort_caller():",
            "    rounds = 0",
            "    while True:",
            "        order = numpy.argsort(data)",
            "        rounds += 1",
            "        if rounds == 1:",
            "            ordered = data[order]",
            "            if not bool((ordered[:-1] <= ordered[1:]).all()):",
            "                sys.exit('numpy.argsort gave a wrong order')",
            "            sys.stdout.write('ready numpy=%s\\n' % numpy.__version__)",
            "            sys.stdout.flush()",
            "",
            "py_argsort_caller()",
            "");

    private static final Map<String, Optional<String>> CHECKED = new ConcurrentHashMap<>();

    private NumpyTargets() {
    }

    /**
     * Empty when {@code import numpy} works in {@code py}; otherwise why not (the provisioning script's
     * reason for a Debian root that has none, else the import's error).
     */
    public static Optional<String> unavailableReason(PythonInterpreter py) {
        if (!py.available()) {
            return py.unavailableReason();
        }
        return CHECKED.computeIfAbsent(py.label(), label -> check(py));
    }

    /** Skips the calling test, with the reason, when {@code py} (or numpy in it) is unavailable. */
    public static void assumeNumpy(PythonInterpreter py) {
        py.assumeAvailable();
        Optional<String> why = unavailableReason(py);
        Assumptions.assumeTrue(why.isEmpty(), () -> "no numpy in " + py.label() + ": " + why.orElse(""));
    }

    private static Optional<String> check(PythonInterpreter py) {
        try {
            Process p = py.processBuilder("-c", "import numpy; print(numpy.__version__)").redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.of("import numpy did not finish in 60 s");
            }
            if (p.exitValue() == 0) {
                return Optional.empty();
            }
            String last = out.lines().reduce((a, b) -> b).orElse("exit " + p.exitValue());
            if (py.origin() == PythonInterpreter.Origin.PROVISIONED
                    && NativeDemoExtension.provisionedProperty(py, "layout").isEmpty()) {
                return Optional.of(last + " (its root predates numpy: re-run scripts/provision-pythons.sh)");
            }
            return Optional.of(NativeDemoExtension.provisionedProperty(py, "numpy.unavailable").orElse(last));
        } catch (IOException e) {
            return Optional.of("import numpy could not run: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted");
        }
    }
}
