package dev.spyglass.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.StackSample;
import dev.spyglass.internal.export.SyntheticProfile;
import dev.spyglass.testsupport.ModuleSmoke;

/** The built-in formats, found through {@link java.util.ServiceLoader} by name and by file name ending. */
class ExportFormatsTest {

    static final List<String> BUILT_IN = List.of("html", "speedscope", "pprof", "collapsed", "austin", "mojo", "jsonl", "gecko",
            "chrome", "sgr");

    private static Optional<String> nameFor(String fileName) {
        return ExportFormats.installed().forFileName(fileName).map(ExporterProvider::formatName);
    }

    @Test
    void infersTheFormatFromTheFileName() {
        assertThat(nameFor("demo.html")).contains("html");
        assertThat(nameFor("DEMO.HTM")).contains("html");
        assertThat(nameFor("p.json")).contains("speedscope");
        assertThat(nameFor("p.speedscope.json")).contains("speedscope");
        assertThat(nameFor("cpu.pb.gz")).contains("pprof");
        assertThat(nameFor("cpu.pprof")).contains("pprof");
        assertThat(nameFor("x.collapsed")).contains("collapsed");
        assertThat(nameFor("x.folded")).contains("collapsed");
        assertThat(nameFor("x.txt")).contains("collapsed");
        assertThat(nameFor("x.austin")).contains("austin");
        assertThat(nameFor("x.mojo")).contains("mojo");
        assertThat(nameFor("x.jsonl")).contains("jsonl");
        assertThat(nameFor("x.ndjson")).contains("jsonl");
        assertThat(nameFor("x.sgr")).contains("sgr");
        assertThat(nameFor("x.gecko.json")).contains("gecko");
        assertThat(nameFor("x.trace.json")).contains("chrome");
        assertThat(nameFor("x.gz")).isEmpty();
        assertThat(nameFor("html")).isEmpty();
    }

    @Test
    void findsEveryBuiltInFormatByNameAndByEachOfItsEndings() {
        ExportFormats formats = ExportFormats.installed();
        assertThat(formats.names()).startsWith(BUILT_IN.toArray(String[]::new));
        for (String name : BUILT_IN) {
            ExporterProvider p = formats.byName(name).orElseThrow(() -> new AssertionError(name + " not found"));
            assertThat(p.formatName()).isEqualTo(name);
            assertThat(formats.byName(name.toUpperCase())).containsSame(p);
            assertThat(p.description()).isNotBlank();
            assertThat(p.fileExtensions()).isNotEmpty().allSatisfy(ext -> {
                assertThat(ext).startsWith(".");
                assertThat(formats.forFileName("profile" + ext)).as(ext).containsSame(p);
            });
        }
        assertThat(formats.byName("svg")).isEmpty();
    }

    /** Module-path users read module-info's provides, class-path users META-INF/services: the two must agree. */
    @Test
    void moduleInfoAndTheServicesFileNameTheSameProvidersInTheSameOrder() throws Exception {
        List<String> provided = ModuleSmoke.assertModuleDescriptor("dev.spyglass",
                Set.of("dev.spyglass", "dev.spyglass.export")).provides().stream()
                .filter(p -> p.service().equals(ExporterProvider.class.getName()))
                .flatMap(p -> p.providers().stream()).toList();
        List<String> listed;
        String services = "/META-INF/services/" + ExporterProvider.class.getName();
        try (var in = ExportFormats.class.getResourceAsStream(services)) {
            listed = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
        assertThat(provided).hasSize(BUILT_IN.size()).isEqualTo(listed);
        assertThat(provided.stream().map(name -> {
            try {
                return ((ExporterProvider) Class.forName(name).getConstructor().newInstance()).formatName();
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(name, e);
            }
        })).containsExactlyElementsOf(BUILT_IN);
    }

    @Test
    void everyBuiltInFormatCreatesAnExporterThatWritesAFile() throws Exception {
        ExportFormats formats = ExportFormats.installed();
        ExportOptions options = ExportOptions.builder().metadata(SyntheticProfile.METADATA).build();
        for (String name : BUILT_IN) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Exporter e = formats.byName(name).orElseThrow().create(out, options)) {
                assertThat(e.formatName()).isEqualTo(name);
                for (StackSample s : SyntheticProfile.samples()) {
                    e.accept(s);
                }
            }
            assertThat(out.size()).as(name).isPositive();
        }
    }

    @Test
    void aFileIsCreatedAndClosedThroughTheCatalog(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.collapsed");
        ExporterProvider collapsed = ExportFormats.installed().forFileName(file.toString()).orElseThrow();
        try (Exporter e = ExportFormats.create(collapsed, file, ExportOptions.defaults())) {
            SyntheticProfile.samples().forEach(e::accept);
        }
        assertThat(file).content().contains(";Outer.leaf (/app/x.py:9) " + SyntheticProfile.LEAF_9 + "\n");
    }

    @Test
    void theFirstProviderOfANameWinsAndBuiltInOnesComeFirst() {
        ExporterProvider mine = new NamedProvider("mine", ".mine");
        ExporterProvider fakeHtml = new NamedProvider("HTML", ".page");
        ExporterProvider secondMine = new NamedProvider("Mine", ".mine2");
        ExporterProvider other = new NamedProvider("other", ".other");
        ExportFormats formats = ExportFormats.of(List.of(mine, fakeHtml, secondMine, other,
                ExportFormats.installed().byName("html").orElseThrow()));
        assertThat(formats.names()).containsExactly("html", "mine", "other");
        assertThat(formats.forFileName("a.page")).isEmpty();
        assertThat(formats.forFileName("a.mine2")).isEmpty();
        assertThat(formats.forFileName("a.MINE")).containsSame(mine);
        assertThat(formats.byName("other")).containsSame(other);
    }

    @Test
    void optionsCarryMetadataAndNamedProperties() {
        ExportOptions o = ExportOptions.builder().includeIdle(true).lineNumbers(false)
                .property("collapsed.value", "weight").build();
        assertThat(o.metadata()).isSameAs(ProfileMetadata.UNKNOWN);
        assertThat(o.includeIdle()).isTrue();
        assertThat(o.lineNumbers()).isFalse();
        assertThat(o.property("collapsed.value")).contains("weight");
        assertThat(o.property("html.title")).isEmpty();
        assertThat(o.properties()).isEqualTo(Map.of("collapsed.value", "weight"));
        assertThat(o.toBuilder().metadata(() -> null).build().metadata()).isSameAs(ProfileMetadata.UNKNOWN);
        assertThat(ExportOptions.defaults().includeIdle()).isFalse();
        assertThat(ExportOptions.defaults().lineNumbers()).isTrue();
    }

    private record NamedProvider(String formatName, String extension) implements ExporterProvider {
        @Override
        public List<String> fileExtensions() {
            return List.of(extension);
        }

        @Override
        public String description() {
            return "test format " + formatName;
        }

        @Override
        public Exporter create(OutputStream out, ExportOptions options) {
            throw new UnsupportedOperationException();
        }
    }
}
