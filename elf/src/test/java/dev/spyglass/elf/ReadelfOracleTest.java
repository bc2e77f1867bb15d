package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * Compares ElfFile with GNU readelf on every interpreter binary and libpython on this machine and on
 * the system's libc and loader (and libc's separate debug file when installed): the whole section table,
 * every symbol of .dynsym and .symtab, name look-ups (through the hash tables) of every defined
 * symbol, address look-ups, the build-id, DT_SONAME and DT_NEEDED.
 */
class ReadelfOracleTest {

    private static final List<String> RUNTIME_SYMBOLS = List.of("_PyRuntime", "Py_Version", "_PyThreadState_Current", "interp_head");

    static Stream<Path> systemLibraries() throws IOException {
        List<Path> libs = new ArrayList<>();
        for (String name : List.of("libc.so.6", "ld-linux-x86-64.so.2", "libm.so.6")) {
            Path p = Path.of("/lib/x86_64-linux-gnu", name);
            if (Files.isRegularFile(p)) {
                libs.add(p.toRealPath());
            }
        }
        List<Path> debugFiles = new ArrayList<>();
        for (Path lib : libs) {
            try (ElfFile elf = ElfFile.open(lib)) {
                elf.findDebugFile(lib).ifPresent(debugFiles::add);
            }
        }
        libs.addAll(debugFiles);
        return libs.stream();
    }

    @ParameterizedTest
    @MethodSource("systemLibraries")
    void systemLibraryMatchesReadelf(Path lib) throws Exception {
        assertMatchesReadelf(lib);
    }

    /** Debian bookworm arm64 files fetched by {@code scripts/provision-foreign-elf.sh}. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"usr/lib/aarch64-linux-gnu/libpython3.11.so.1.0",
            "lib/aarch64-linux-gnu/libc.so.6", "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"})
    void aarch64FileMatchesReadelf(String relative) throws Exception {
        String cache = Optional.ofNullable(System.getenv("SPYGLASS_CACHE")).orElse(System.getProperty("user.home") + "/.cache/spyglass");
        Path file = Path.of(cache, "foreign-elf", "arm64", relative);
        assumeTrue(Files.isRegularFile(file), () -> file + " not provisioned: run scripts/provision-foreign-elf.sh");
        try (ElfFile elf = ElfFile.open(file)) {
            assertThat(elf.machine()).isEqualTo(ElfConstants.EM_AARCH64);
        }
        assertMatchesReadelf(file);
        assertLoaderViewMatches(file);
        if (relative.contains("libpython")) {
            try (ElfFile elf = ElfFile.open(file)) {
                Readelf.SymbolRow row = Readelf.symbols(file).get(".dynsym").stream().filter(r -> r.name().equals("_PyRuntime"))
                        .findFirst().orElseThrow();
                assertThat(elf.symbol("_PyRuntime").orElseThrow()).returns(row.value(), Symbol::value).returns(row.size(), Symbol::size);
                assertThat(elf.symbol("Py_Version")).isPresent();
            }
        }
    }

    @ForEachPython
    void executableMatchesReadelf(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assertMatchesReadelf(py.executable());
    }

    @ForEachPython
    void libpythonMatchesReadelf(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assumeTrue(py.libpython().isPresent(), () -> py.label() + " links libpython statically");
        assertMatchesReadelf(py.libpython().orElseThrow());
    }

    @ForEachPython
    void runtimeSymbolsMatchReadelfAndTheVersion(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path object = py.interpreterObject();
        Map<String, List<Readelf.SymbolRow>> tables = Readelf.symbols(object);
        try (ElfFile elf = ElfFile.open(object)) {
            SoftAssertions soft = new SoftAssertions();
            for (String name : RUNTIME_SYMBOLS) {
                List<Readelf.SymbolRow> rows = tables.values().stream().flatMap(List::stream)
                        .filter(r -> r.name().equals(name) && !r.ndx().equals("UND")).toList();
                Optional<Symbol> ours = elf.symbol(name);
                if (rows.isEmpty()) {
                    soft.assertThat(ours.filter(Symbol::isDefined)).as("%s in %s", name, object).isEmpty();
                } else {
                    soft.assertThat(ours).as("%s in %s", name, object).isPresent();
                    ours.ifPresent(s -> soft.assertThat(rows).as("%s in %s", name, object)
                            .anyMatch(r -> r.value() == s.value() && r.size() == s.size()));
                }
            }
            // What finding the interpreter relies on, per version (docs/cpython-layouts.md).
            if (py.atLeast(3, 7)) {
                soft.assertThat(elf.symbol("_PyRuntime")).as("_PyRuntime exported from 3.7").isPresent();
            } else {
                soft.assertThat(elf.symbol("_PyThreadState_Current")).as("_PyThreadState_Current before 3.7").isPresent();
            }
            if (py.atLeast(3, 10)) {
                Symbol runtime = elf.symbol("_PyRuntime").orElseThrow();
                soft.assertThat(elf.section(".PyRuntime")).as(".PyRuntime section starts at _PyRuntime from 3.10")
                        .hasValueSatisfying(s -> assertThat(s.address()).isEqualTo(runtime.value()));
            }
            if (py.atLeast(3, 11)) {
                Symbol version = elf.symbol("Py_Version").orElseThrow();
                long at = elf.vaddrToFileOffset(version.value());
                soft.assertThat(at).isNotNegative();
                int hex = elf.bytes().get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at);
                soft.assertThat(Integer.toUnsignedLong(hex)).as("Py_Version holds sys.hexversion").isEqualTo(py.hexVersion());
            }
            elf.section(".rodata").flatMap(ro -> elf.findVersionString(ro, py.major() + "." + py.minor() + ".", 10_000))
                    .ifPresent(v -> soft.assertThat(v).as("version string in .rodata").startsWith(py.version()));
            soft.assertAll();
        }
    }

    @ParameterizedTest
    @MethodSource("systemLibraries")
    void systemLibraryWithoutSectionHeadersHasTheSameDynamicSymbols(Path lib) throws Exception {
        assertLoaderViewMatches(lib);
    }

    @ForEachPython
    void interpreterWithoutSectionHeadersHasTheSameDynamicSymbols(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        assertLoaderViewMatches(py.interpreterObject());
    }

    /**
     * With the section header table cut off (as {@code sstrip} does, or in an image read from memory), the
     * dynamic symbols found through {@code PT_DYNAMIC} must be those of {@code .dynsym}.
     */
    static void assertLoaderViewMatches(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        java.nio.ByteBuffer hdr = java.nio.ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        hdr.putLong(40, 0).putShort(60, (short) 0).putShort(62, (short) 0);
        try (ElfFile full = ElfFile.open(file)) {
            ElfFile stripped = ElfFile.of(java.lang.foreign.MemorySegment.ofArray(bytes), file + " without section headers");
            assertThat(stripped.sections()).isEmpty();
            assertThat(stripped.soname()).isEqualTo(full.soname());
            assertThat(stripped.needed()).isEqualTo(full.needed());
            assertThat(stripped.buildIdHex()).isEqualTo(full.buildIdHex());
            assertThat(stripped.interpreter()).isEqualTo(full.interpreter());
            List<Symbol> dynamic = full.symbols().stream().filter(Symbol::dynamic).toList();
            boolean hashed = full.section(".gnu.hash").or(() -> full.section(".hash")).filter(s -> !s.isNoBits()).isPresent();
            if (!hashed) {
                assertThat(stripped.symbols()).isEmpty();
                return;
            }
            assertThat(stripped.symbols()).as("dynamic symbols of %s", file).isEqualTo(dynamic);
            for (Symbol s : dynamic) {
                if (s.isDefined()) {
                    assertThat(stripped.symbol(s.name())).as("look-up of %s", s.name()).isEqualTo(full.symbol(s.name())
                            .filter(Symbol::dynamic));
                }
            }
        }
    }

    static void assertMatchesReadelf(Path file) throws Exception {
        List<Readelf.SectionRow> sections = Readelf.sections(file);
        Map<String, List<Readelf.SymbolRow>> tables = Readelf.symbols(file);
        Optional<String> buildId = Readelf.buildId(file);
        String dynamic = Readelf.run(file, "-W", "-d");
        try (ElfFile elf = ElfFile.open(file)) {
            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(elf.sections()).as("section count of %s", file).hasSize(sections.size());
            for (int i = 0; i < Math.min(sections.size(), elf.sections().size()); i++) {
                Readelf.SectionRow r = sections.get(i);
                Section s = elf.sections().get(i);
                soft.assertThat(s).as("section %d of %s", i, file)
                        .returns(r.index(), Section::index).returns(r.name(), Section::name)
                        .returns(Readelf.sectionType(r.type()), Section::type).returns(r.address(), Section::address)
                        .returns(r.offset(), Section::offset).returns(r.size(), Section::size)
                        .returns(r.entrySize(), Section::entrySize).returns(r.link(), Section::link)
                        .returns(r.info(), Section::info).returns(r.alignment(), Section::alignment);
                soft.assertThat(Readelf.flags(s.flags(), elf.osAbi())).as("flags of section %d of %s", i, file).isEqualTo(r.flags());
            }

            compareTable(soft, file, tables.get(".dynsym"), elf.symbols().stream().filter(Symbol::dynamic).toList());
            compareTable(soft, file, tables.get(".symtab"), elf.symbols().stream().filter(s -> !s.dynamic()).toList());

            // Name look-ups: every defined default-version symbol of .dynsym (through the hash table), and every
            // name defined exactly once in .symtab and absent from .dynsym (through the lazy index).
            List<Readelf.SymbolRow> dyn = tables.getOrDefault(".dynsym", List.of());
            Map<String, List<Readelf.SymbolRow>> dynByName = dyn.stream().filter(r -> !r.ndx().equals("UND") && r.defaultVersion()
                    && !r.name().isEmpty() && !r.type().equals("SECTION")).collect(Collectors.groupingBy(Readelf.SymbolRow::name));
            boolean dynsymReadable = elf.symbols().stream().anyMatch(Symbol::dynamic);
            int looked = 0;
            if (dynsymReadable) {
                for (Map.Entry<String, List<Readelf.SymbolRow>> e : dynByName.entrySet()) {
                    Optional<Symbol> s = elf.symbol(e.getKey());
                    soft.assertThat(s).as("look-up of %s in %s", e.getKey(), file).isPresent();
                    s.ifPresent(sym -> soft.assertThat(e.getValue()).as("look-up of %s in %s", e.getKey(), file)
                            .anyMatch(r -> r.value() == sym.value() && r.size() == sym.size()));
                    looked++;
                }
            }
            Map<String, List<Readelf.SymbolRow>> symtabByName = tables.getOrDefault(".symtab", List.of()).stream()
                    .filter(r -> !r.name().isEmpty() && !r.type().equals("SECTION")).collect(Collectors.groupingBy(Readelf.SymbolRow::name));
            for (Map.Entry<String, List<Readelf.SymbolRow>> e : symtabByName.entrySet()) {
                List<Readelf.SymbolRow> rows = e.getValue();
                if (rows.size() != 1 || rows.getFirst().ndx().equals("UND") || dynByName.containsKey(e.getKey())
                        || !rows.getFirst().rawName().equals(e.getKey())) {
                    continue;
                }
                Readelf.SymbolRow r = rows.getFirst();
                soft.assertThat(elf.symbol(e.getKey())).as("look-up of %s in %s", e.getKey(), file)
                        .hasValueSatisfying(sym -> assertThat(sym).returns(r.value(), Symbol::value).returns(r.size(), Symbol::size));
                looked++;
            }

            // Address look-ups: the start of every sized function or object is inside the symbol found there.
            for (Symbol s : elf.symbols()) {
                if (s.isDefined() && s.size() > 0 && (s.isFunction() || s.isObject())) {
                    Optional<Symbol> at = elf.symbolAt(s.value());
                    soft.assertThat(at).as("symbolAt(0x%x) (%s) in %s", s.value(), s.name(), file)
                            .hasValueSatisfying(found -> assertThat(found.contains(s.value())).isTrue());
                }
            }

            soft.assertThat(elf.buildIdHex()).as("build-id of %s", file).isEqualTo(buildId);
            soft.assertThat(elf.soname()).as("soname of %s", file).isEqualTo(bracketed(dynamic, "(SONAME)").stream().findFirst());
            soft.assertThat(elf.needed()).as("needed of %s", file).isEqualTo(bracketed(dynamic, "(NEEDED)"));
            soft.assertThat(looked + elf.sections().size()).as("something was compared for %s", file).isPositive();
            soft.assertAll();
        }
    }

    private static List<String> bracketed(String readelfDynamic, String tag) {
        List<String> out = new ArrayList<>();
        for (String line : readelfDynamic.split("\n")) {
            if (line.contains(tag)) {
                int a = line.indexOf('[');
                int b = line.lastIndexOf(']');
                if (a >= 0 && b > a) {
                    out.add(line.substring(a + 1, b));
                }
            }
        }
        return out;
    }

    private static void compareTable(SoftAssertions soft, Path file, List<Readelf.SymbolRow> rows, List<Symbol> ours) {
        if (rows == null) {
            soft.assertThat(ours).as("symbols of a table readelf does not show in %s", file).isEmpty();
            return;
        }
        List<Readelf.SymbolRow> entries = rows.stream().filter(r -> r.index() > 0).toList();
        soft.assertThat(ours).as("symbol count of %s", file).hasSize(entries.size());
        Map<String, Integer> mismatches = new HashMap<>();
        for (int i = 0; i < Math.min(entries.size(), ours.size()); i++) {
            Readelf.SymbolRow r = entries.get(i);
            Symbol s = ours.get(i);
            // readelf shows an unnamed STT_SECTION symbol under its section's name
            boolean sameName = s.name().equals(r.rawName()) || s.name().equals(r.name())
                    || (s.name().isEmpty() && r.type().equals("SECTION"));
            boolean same = sameName
                    && s.value() == r.value() && s.size() == r.size() && s.type() == Readelf.symbolType(r.type())
                    && s.binding() == Readelf.binding(r.bind()) && s.sectionIndex() == Readelf.sectionIndex(r.ndx());
            if (!same && mismatches.merge("n", 1, Integer::sum) <= 5) {
                soft.fail("symbol %d of %s: readelf %s, ours %s", r.index(), file, r, s);
            }
        }
    }
}
