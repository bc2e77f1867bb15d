package dev.spyglass.cpython.abi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Compiles a small C program against a CPython include directory (public and internal headers, as
 * pyenv and Debian's libpython3.X-dev install them) that prints each field's C expression, and runs it:
 * the compiler's own answer for exactly those headers.
 */
final class HeaderOracle {

    // Internal headers that define the structs Layout covers, across 2.7 - 3.13; absent ones are skipped.
    private static final List<String> HEADERS = List.of("Python.h", "frameobject.h", "internal/pystate.h",
            "internal/pycore_pystate.h", "internal/pycore_runtime.h", "internal/pycore_interp.h",
            "internal/pycore_frame.h", "internal/pycore_code.h", "internal/pycore_gil.h", "internal/pycore_dict.h",
            "internal/pycore_moduleobject.h");

    private HeaderOracle() {
    }

    /**
     * @return each field's value as the compiler computes it from the headers in {@code include}
     * @throws AssertionError when the program does not compile (the message holds the compiler's errors,
     *                        which name any member the headers lack)
     */
    static Map<Field, Long> evaluate(Path include, Map<Field, String> expressions)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("spyglass-header-oracle-");
        try {
            StringBuilder c = new StringBuilder("#define Py_BUILD_CORE 1\n");
            for (String h : HEADERS) {
                c.append("#if __has_include(\"").append(h).append("\")\n#include \"").append(h)
                        .append("\"\n#endif\n");
            }
            c.append("#include <stdio.h>\nint main(void) {\n");
            expressions.forEach((f, e) -> c.append("  printf(\"").append(f).append("=%ld\\n\", (long)(")
                    .append(e).append("));\n"));
            c.append("  return 0;\n}\n");
            Path src = dir.resolve("oracle.c");
            Path exe = dir.resolve("oracle");
            Files.writeString(src, c);
            run(List.of("gcc", "-w", "-I", include.toString(), "-I", include.resolve("internal").toString(),
                    src.toString(), "-o", exe.toString()), "gcc on " + include);
            Map<Field, Long> result = new LinkedHashMap<>();
            for (String line : run(List.of(exe.toString()), "oracle program").split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    result.put(Field.valueOf(line.substring(0, eq)), Long.parseLong(line.substring(eq + 1).strip()));
                }
            }
            return result;
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static String run(List<String> cmd, String what) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(what + " failed:\n" + out);
        }
        return out;
    }
}
