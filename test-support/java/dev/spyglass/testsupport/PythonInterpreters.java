package dev.spyglass.testsupport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.spyglass.testsupport.PythonInterpreter.Origin;

/**
 * Discovers every CPython on this machine: pyenv builds ({@code $PYENV_ROOT/versions/*}, default
 * {@code /root/.pyenv}), the system's {@code /usr/bin/python3.X}, the Debian builds that
 * {@code scripts/provision-pythons.sh} unpacks into {@code ~/.cache/spyglass/pythons}, and paths listed
 * in {@code SPYGLASS_PYTHONS} (separated by {@code :}).
 *
 * <p>The shapes the project promises to test are listed in {@link #EXPECTED}; those not found are
 * returned as unavailable interpreters carrying the reason, so a parameterised test shows them as
 * skipped instead of silently dropping them.
 */
public final class PythonInterpreters {

    /** The interpreter shapes every integration test is expected to cover: origin and major.minor. */
    public static final List<Map.Entry<Origin, String>> EXPECTED = List.of(
            Map.entry(Origin.PYENV, "2.7"), Map.entry(Origin.PYENV, "3.6"), Map.entry(Origin.PYENV, "3.7"),
            Map.entry(Origin.PYENV, "3.8"), Map.entry(Origin.PYENV, "3.9"), Map.entry(Origin.PYENV, "3.10"),
            Map.entry(Origin.PYENV, "3.11"), Map.entry(Origin.PYENV, "3.12"), Map.entry(Origin.PYENV, "3.13"),
            Map.entry(Origin.SYSTEM, "3.11"), Map.entry(Origin.PROVISIONED, "3.13"),
            Map.entry(Origin.PROVISIONED, "3.14"));

    private static final Pattern VERSIONED_BINARY = Pattern.compile("python[23]\\.[0-9]+t?");

    // Prints key=value lines; must run on Python 2.7 too.
    private static final String PROBE = String.join("\n",
            "import sys, os, sysconfig",
            "v = sys.version_info",
            "cv = sysconfig.get_config_var",
            "lvl = {'alpha': 'a', 'beta': 'b', 'candidate': 'rc'}.get(v[3], '')",
            "ver = '%d.%d.%d' % (v[0], v[1], v[2]) + (lvl and lvl + str(v[4]))",
            "out = sys.stdout",
            "out.write('version=%s\\n' % ver)",
            "out.write('hexversion=%d\\n' % sys.hexversion)",
            "out.write('shared=%s\\n' % (cv('Py_ENABLE_SHARED') or 0))",
            "out.write('ldlibrary=%s\\n' % (cv('LDLIBRARY') or ''))",
            "out.write('instsoname=%s\\n' % (cv('INSTSONAME') or ''))",
            "out.write('libdir=%s\\n' % (cv('LIBDIR') or ''))",
            "out.write('gil_disabled=%s\\n' % (cv('Py_GIL_DISABLED') or 0))",
            // Ground truth for shared vs static: is a libpython mapped into this very process?
            // (Debian's python3.11 reports Py_ENABLE_SHARED=1 but links the interpreter statically.)
            "libs = [l.split(None, 5)[5].strip() for l in open('/proc/self/maps') if 'libpython' in l and len(l.split(None, 5)) == 6]",
            "out.write('mapped_libpython=%s\\n' % (libs and libs[0] or ''))",
            "");

    private static volatile List<PythonInterpreter> cached;

    private PythonInterpreters() {
    }

    /**
     * Every expected shape (available or not) plus any other interpreter found; sorted by label. With the
     * environment variable {@code SPYGLASS_PYTHON_FILTER} (a regular expression found in the label, e.g.
     * {@code 3\.14\.[0-9]+t}), only the matching ones: to run one shape's tests on a busy machine.
     */
    public static Stream<PythonInterpreter> all() {
        String filter = System.getenv("SPYGLASS_PYTHON_FILTER");
        if (filter == null || filter.isBlank()) {
            return discover().stream();
        }
        Pattern p = Pattern.compile(filter);
        return discover().stream().filter(py -> p.matcher(py.label()).find());
    }

    /**
     * Two interpreters for tests of behaviour that does not change with the CPython version (a C library's
     * probes, a command's bad input): the newest pyenv build (PIE, shared libpython, symbols) and the
     * distribution's own python3 (static, stripped), the two shapes of binary such code meets. Expected ones
     * that are missing come as unavailable, so the test says so. Each such test costs two runs, not fifteen.
     */
    public static Stream<PythonInterpreter> twoShapes() {
        List<PythonInterpreter> all = all().toList();
        Stream<PythonInterpreter> pyenv = all.stream().filter(py -> py.origin() == PythonInterpreter.Origin.PYENV
                && !py.freeThreaded()).max(java.util.Comparator.comparing(PythonInterpreter::available)
                        .thenComparing(py -> py.major() * 100 + py.minor()))
                .stream();
        Stream<PythonInterpreter> system = all.stream()
                .filter(py -> py.origin() == PythonInterpreter.Origin.SYSTEM && !py.freeThreaded()).limit(1);
        return Stream.concat(pyenv, system);
    }

    /** Only the interpreters present on this machine. */
    public static Stream<PythonInterpreter> available() {
        return all().filter(PythonInterpreter::available);
    }

    /**
     * One available interpreter at least {@code major.minor}, for tests that need just one: a pyenv build
     * first (the machine's own python3), then the others by label, free-threaded builds last (their
     * startup took seconds on a loaded machine, against 60 ms for a GIL build).
     */
    public static Optional<PythonInterpreter> any(int major, int minor) {
        return available().filter(p -> p.atLeast(major, minor))
                .min(java.util.Comparator.comparing(PythonInterpreter::freeThreaded)
                        .thenComparing(p -> p.origin() != PythonInterpreter.Origin.PYENV)
                        .thenComparing(PythonInterpreter::label));
    }

    /**
     * {@link #any(int, int)} for a test that needs one interpreter: aborts the test (skipped, with the
     * reason) when there is none.
     */
    public static PythonInterpreter assumeAny(int major, int minor) {
        PythonInterpreter py = any(major, minor).orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(py != null,
                "no CPython " + major + "." + minor + "+ on this machine");
        return py;
    }

    public static synchronized List<PythonInterpreter> discover() {
        if (cached == null) {
            cached = List.copyOf(scan());
        }
        return cached;
    }

    /** The folder holding the provisioned Debian interpreters. */
    public static Path provisionedRoot() {
        String cache = System.getenv("SPYGLASS_CACHE");
        Path base = cache != null && !cache.isBlank() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "spyglass");
        return base.resolve("pythons");
    }

    private static List<PythonInterpreter> scan() {
        List<Candidate> candidates = new ArrayList<>();
        String pyenvRoot = Optional.ofNullable(System.getenv("PYENV_ROOT")).orElse("/root/.pyenv");
        for (Path dir : list(Path.of(pyenvRoot, "versions"))) {
            for (Path bin : list(dir.resolve("bin"))) {
                if (VERSIONED_BINARY.matcher(bin.getFileName().toString()).matches()) {
                    candidates.add(new Candidate(Origin.PYENV, "pyenv", List.of(bin.toString()), Map.of(), bin));
                }
            }
        }
        for (Path bin : list(Path.of("/usr/bin"))) {
            if (VERSIONED_BINARY.matcher(bin.getFileName().toString()).matches() && bin.startsWith("/usr/bin")) {
                candidates.add(new Candidate(Origin.SYSTEM, "debian", List.of(bin.toString()), Map.of(), bin));
            }
        }
        for (Path root : list(provisionedRoot())) {
            Path wrapper = root.resolve("spyglass-python");
            if (!Files.isExecutable(wrapper)) {
                continue;
            }
            // The binary the wrapper runs, as the provisioning script recorded it: a free-threaded build also
            // installs python3.X as a hard link of python3.Xt, and /proc/PID/maps names the one exec'ed.
            Optional<Path> binary = recordedBinary(root).or(() -> list(root.resolve("usr/bin")).stream()
                    .filter(p -> VERSIONED_BINARY.matcher(p.getFileName().toString()).matches())
                    .findFirst());
            binary.ifPresent(b -> candidates.add(new Candidate(Origin.PROVISIONED,
                    root.getFileName().toString().replaceAll("-[0-9.]+t?$", ""), List.of(wrapper.toString()),
                    Map.of(), b)));
        }
        String user = System.getenv("SPYGLASS_PYTHONS");
        if (user != null) {
            for (String entry : user.split(File.pathSeparator)) {
                if (!entry.isBlank()) {
                    Path p = Path.of(entry.trim());
                    candidates.add(new Candidate(Origin.USER, "user", List.of(p.toString()), Map.of(), p));
                }
            }
        }

        List<PythonInterpreter> found = candidates.parallelStream().map(PythonInterpreters::probe).toList();
        Map<String, PythonInterpreter> byLabel = new LinkedHashMap<>();
        for (PythonInterpreter p : found) {
            byLabel.putIfAbsent(p.label(), p);
        }
        Map<String, Boolean> seen = new HashMap<>();
        for (PythonInterpreter p : byLabel.values()) {
            if (p.available()) {
                seen.put(p.origin() + "/" + p.major() + "." + p.minor(), true);
            }
        }
        for (Map.Entry<Origin, String> e : EXPECTED) {
            if (!seen.containsKey(e.getKey() + "/" + e.getValue())) {
                String label = switch (e.getKey()) {
                    case PYENV -> "pyenv-" + e.getValue();
                    case SYSTEM -> "debian-" + e.getValue();
                    case PROVISIONED -> (e.getValue().equals("3.13") ? "debian-trixie-" : "debian-sid-") + e.getValue();
                    case USER -> "user-" + e.getValue();
                };
                byLabel.put(label, PythonInterpreter.unavailable(label, e.getKey(), e.getValue(),
                        missingReason(e.getKey(), e.getValue(), pyenvRoot)));
            }
        }
        // A free-threaded interpreter is built only on request (scripts/build-freethreaded-python.sh takes
        // minutes and a CPython source), so it is not in EXPECTED; without one, tests still list it as
        // skipped with the reason and the command that builds it.
        for (String v : FREE_THREADED_VERSIONS) {
            if (byLabel.values().stream().noneMatch(p -> p.available() && p.freeThreaded()
                    && (p.major() + "." + p.minor()).equals(v))) {
                String label = "built-" + v + "t";
                byLabel.put(label, PythonInterpreter.unavailable(label, Origin.PROVISIONED, v,
                        freeThreadedMissingReason(v)));
            }
        }
        List<PythonInterpreter> result = new ArrayList<>(byLabel.values());
        result.sort(Comparator.comparing((PythonInterpreter p) -> p.origin().ordinal())
                .thenComparing(p -> p.available() ? p.hexVersion() : 0)
                .thenComparing(PythonInterpreter::label));
        return result;
    }

    /** Free-threaded shapes listed (as skipped with the reason) even when not built. */
    private static final List<String> FREE_THREADED_VERSIONS = List.of("3.13", "3.14", "3.15");

    private static String freeThreadedMissingReason(String version) {
        Path marker = provisionedRoot().resolve("built-" + version + "t.unavailable");
        String why = "not built";
        if (Files.isRegularFile(marker)) {
            try {
                why = "not built: " + Files.readString(marker).strip();
            } catch (IOException e) {
                why = "not built: " + marker;
            }
        }
        return why + "; scripts/build-freethreaded-python.sh --version " + version
                + " builds it (~4 min) from Debian's source package where the mirror serves it";
    }

    private static String missingReason(Origin origin, String version, String pyenvRoot) {
        return switch (origin) {
            case PYENV -> "no python" + version + " under " + pyenvRoot + "/versions";
            case SYSTEM -> "no /usr/bin/python" + version + " on this machine";
            case PROVISIONED -> {
                Path root = provisionedRoot();
                for (Path marker : list(root)) {
                    String name = marker.getFileName().toString();
                    if (name.endsWith(".unavailable") && name.contains(version)) {
                        try {
                            yield "not provisioned: " + Files.readString(marker).strip();
                        } catch (IOException e) {
                            yield "not provisioned: " + marker;
                        }
                    }
                }
                yield "not provisioned in " + root + ": run scripts/provision-pythons.sh";
            }
            case USER -> "listed in SPYGLASS_PYTHONS but not usable";
        };
    }

    private record Candidate(Origin origin, String prefix, List<String> command, Map<String, String> env,
            Path executable) {
    }

    private static PythonInterpreter probe(Candidate c) {
        String label = c.prefix() + "-" + c.executable().getFileName();
        try {
            List<String> cmd = new ArrayList<>(c.command());
            cmd.add("-c");
            cmd.add(PROBE);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(c.env());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return PythonInterpreter.unavailable(label, c.origin(), "0.0", "probe failed: " + out.strip());
            }
            Map<String, String> kv = new HashMap<>();
            for (String line : out.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    kv.put(line.substring(0, eq), line.substring(eq + 1).strip());
                }
            }
            String version = kv.getOrDefault("version", "0.0.0");
            String mapped = kv.getOrDefault("mapped_libpython", "");
            boolean shared = !mapped.isEmpty();
            boolean ft = "1".equals(kv.get("gil_disabled"));
            Optional<Path> lib = Optional.empty();
            if (shared) {
                lib = Optional.of(Path.of(mapped).toRealPath());
            }
            Path exe = c.executable().toRealPath();
            return new PythonInterpreter(c.prefix() + "-" + version + (ft ? "t" : ""), c.origin(), version,
                    Long.parseLong(kv.getOrDefault("hexversion", "0")), ft, shared, exe, lib, c.command(), c.env(),
                    Optional.empty());
        } catch (IOException | RuntimeException e) {
            return PythonInterpreter.unavailable(label, c.origin(), "0.0", "probe failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PythonInterpreter.unavailable(label, c.origin(), "0.0", "interrupted");
        }
    }

    private static Optional<Path> recordedBinary(Path root) {
        Path props = root.resolve("spyglass-python.properties");
        try {
            return Files.readAllLines(props).stream().filter(l -> l.startsWith("binary="))
                    .map(l -> Path.of(l.substring("binary=".length()).strip())).filter(Files::isExecutable)
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
