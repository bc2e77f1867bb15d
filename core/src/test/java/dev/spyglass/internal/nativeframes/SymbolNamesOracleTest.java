package dev.spyglass.internal.nativeframes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real mangled names from this machine, demangled here and by GNU {@code c++filt --no-params}, the
 * reference: the symbols libstdc++ exports, and those of a small Rust program built with rustc (legacy
 * and v0 mangling). A missing tool or library skips the comparison, with the reason.
 */
class SymbolNamesOracleTest {
    private static final Path LIBSTDCXX = Path.of("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");

    @Test
    void agreesWithCppFiltOnLibstdcxxExports(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isReadable(LIBSTDCXX), "no " + LIBSTDCXX + " on this machine");
        assumeTrue(onPath("nm") && onPath("c++filt"), "nm or c++filt (binutils) not installed");
        List<String> names = cppNames(run(dir, null, "nm", "-D", "--defined-only", LIBSTDCXX.toString()));
        assertThat(names).as("mangled names exported by libstdc++").hasSizeGreaterThan(1000);
        compare(dir, names, "c++filt", UnaryOperator.identity());
    }

    @Test
    void agreesWithCppFiltOnRustSymbols(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("rustc") && onPath("nm") && onPath("c++filt"), "rustc, nm or c++filt not installed");
        Path source = dir.resolve("spyglass_names.rs");
        Files.writeString(source, String.join("\n",
                "use std::collections::HashMap;",
                "pub struct Foo<T> { pub v: T }",
                "pub trait Speak { fn speak(&self) -> String; }",
                "impl<T: std::fmt::Debug> Speak for Foo<T> {",
                "    #[inline(never)] fn speak(&self) -> String { format!(\"{:?}\", self.v) } }",
                "impl<T> Foo<T> { #[inline(never)] pub fn get(&self) -> &T { &self.v } }",
                "#[inline(never)] pub fn generic<T: Clone, const N: usize>(x: [T; N]) -> Vec<T> { x.to_vec() }",
                "#[inline(never)] pub fn closures(v: &[i32]) -> i32 { v.iter().map(|x| x * 2).filter(|x| *x > 3).sum() }",
                "#[inline(never)] pub fn dynamic(f: &dyn Fn(&str) -> usize, g: fn(u8, &u16) -> bool) -> usize {",
                "    if g(1, &2) { f(\"a\") } else { 0 } }",
                "fn main() {",
                "    let f = Foo { v: (1u8, 'c', \"s\") }; let s = f.speak(); let _ = f.get();",
                "    let mut m: HashMap<String, Vec<Foo<i32>>> = HashMap::new(); m.insert(s.clone(), vec![]);",
                "    let n = dynamic(&|x: &str| x.len(), |a, b| a as u16 == *b) + generic([1u64, 2, 3]).len();",
                "    println!(\"{}\", n + closures(&[1, 2, 3]) as usize + m.len());",
                "}", ""));
        Set<String> names = new LinkedHashSet<>();
        for (String mangling : new String[] {"legacy", "v0"}) {
            Path binary = dir.resolve("names_" + mangling);
            List<String> command = new ArrayList<>(List.of("rustc", "-C", "opt-level=0", "-o", binary.toString()));
            if (mangling.equals("v0")) {
                command.addAll(List.of("-C", "symbol-mangling-version=v0"));
            }
            command.add(source.toString());
            run(dir, null, command.toArray(String[]::new));
            for (String line : run(dir, null, "nm", "--defined-only", binary.toString())) {
                String name = line.substring(line.lastIndexOf(' ') + 1);
                if (name.startsWith("_R") || (name.startsWith("_ZN") && name.matches(".*17h[0-9a-f]{16}E(\\..*)?"))) {
                    names.add(name);
                }
            }
        }
        assertThat(names).as("Rust symbols of the test program").hasSizeGreaterThan(100);
        // c++filt prints Rust names in full: the hash (legacy), crate disambiguators and the type of a
        // constant (v0), which the alternate form shown by py-spy and here leaves out.
        compare(dir, new ArrayList<>(names), "c++filt", expected -> expected
                .replaceAll("::h[0-9a-f]{16}$", "")
                .replaceAll("\\[[0-9a-f]+\\]", "")
                .replaceAll("([0-9a-z']): (bool|char|[iu](8|16|32|64|128|size))(?=[,>])", "$1"));
    }

    private static void compare(Path dir, List<String> names, String tool, UnaryOperator<String> normalise)
            throws Exception {
        Path input = dir.resolve("names.txt");
        Files.write(input, names);
        List<String> expected = run(dir, input, tool, "--no-params");
        assertThat(expected).hasSameSizeAs(names);
        long start = System.nanoTime();
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String want = normalise.apply(expected.get(i));
            String got = SymbolNames.readable(names.get(i));
            if (!got.equals(want)) {
                mismatches.add(names.get(i) + "\n    here:    " + got + "\n    c++filt: " + want);
            }
        }
        long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
        System.out.printf("%d of %d names differ from %s --no-params (%d us in all)%n",
                mismatches.size(), names.size(), tool, micros);
        mismatches.stream().limit(20).forEach(m -> System.out.println("  " + m));
        assertThat(mismatches.size()).as("names that differ, of %d", names.size()).isLessThanOrEqualTo(names.size() / 20);
    }

    /** The defined {@code _Z} names of {@code nm} output, without version, each once. */
    private static List<String> cppNames(List<String> nmLines) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : nmLines) {
            String name = SymbolNames.withoutVersion(line.substring(line.lastIndexOf(' ') + 1));
            if (name.startsWith("_Z")) {
                names.add(name);
            }
        }
        return new ArrayList<>(names);
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static List<String> run(Path dir, Path stdin, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).directory(dir.toFile());
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finishes", command[0]).isTrue();
        assertThat(p.exitValue()).as("%s exit status", String.join(" ", command)).isZero();
        return Files.readAllLines(out, StandardCharsets.UTF_8);
    }
}
