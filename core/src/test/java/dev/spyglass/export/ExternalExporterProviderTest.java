package dev.spyglass.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.SampleSink;
import dev.spyglass.StackSample;
import dev.spyglass.internal.export.SyntheticProfile;

/**
 * An export format written outside the project, as a user would: its source is compiled here against the
 * Spyglass API, packed into a jar, and found through {@link java.util.ServiceLoader} by name and by file name
 * ending, once from {@code META-INF/services} through a class loader and once from a module's {@code provides}
 * through a module layer. Its exporter counts what it receives, so the test sees the samples arrive.
 */
class ExternalExporterProviderTest {

    private static final String PROVIDER = "com.example.linecount.LineCountProvider";

    private static final String PROVIDER_SOURCE = """
            package com.example.linecount;

            import java.io.IOException;
            import java.io.OutputStream;
            import java.nio.charset.StandardCharsets;
            import java.util.List;

            import dev.spyglass.StackSample;
            import dev.spyglass.export.ExportOptions;
            import dev.spyglass.export.Exporter;
            import dev.spyglass.export.ExporterProvider;

            public final class LineCountProvider implements ExporterProvider {
                public String formatName() { return "line-count"; }
                public List<String> fileExtensions() { return List.of(".lines"); }
                public String description() { return "how many samples and frames arrived"; }
                public Exporter create(OutputStream out, ExportOptions options) {
                    return new Exporter() {
                        long samples;
                        long frames;
                        public String formatName() { return "line-count"; }
                        public void accept(StackSample sample) {
                            samples++;
                            frames += sample.frames().size();
                        }
                        public void close() throws IOException {
                            try (out) {
                                out.write(("samples=" + samples + " frames=" + frames + " pid="
                                        + options.metadata().pid()).getBytes(StandardCharsets.UTF_8));
                            }
                        }
                    };
                }
            }
            """;

    private static final String MODULE_SOURCE = """
            module com.example.linecount {
                requires dev.spyglass;
                provides dev.spyglass.export.ExporterProvider with com.example.linecount.LineCountProvider;
            }
            """;

    @TempDir
    Path dir;

    @Test
    void aProviderInAJarIsFoundThroughItsClassLoaderByNameAndByEnding() throws Exception {
        Path jar = buildPlugin(false, List.of("--class-path", String.join(File.pathSeparator, testClassPath())));
        ClassLoader contextBefore = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, getClass().getClassLoader())) {
            assertThat(ExportFormats.installed().byName("line-count")).as("not on the test's class path").isEmpty();

            ExportFormats formats = ExportFormats.load(loader);
            assertThat(formats.names()).containsExactly("html", "speedscope", "pprof", "collapsed", "austin", "mojo",
                    "jsonl", "gecko", "chrome", "sgr", "line-count");
            ExporterProvider lines = formats.byName("Line-Count").orElseThrow();
            assertThat(lines.getClass().getName()).isEqualTo(PROVIDER);
            assertThat(lines.getClass().getClassLoader()).isSameAs(loader);
            assertThat(formats.forFileName("/tmp/run.LINES")).containsSame(lines);

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Exporter exporter = lines.create(out, ExportOptions.builder()
                    .metadata(SyntheticProfile.METADATA).build())) {
                assertThat(exporter.formatName()).isEqualTo("line-count");
                SyntheticProfile.samples().forEach(exporter::accept);
            }
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expectedCounts(SyntheticProfile.PID));

            // The command line looks formats up through the thread's context class loader (the class path).
            Thread.currentThread().setContextClassLoader(loader);
            assertThat(ExportFormats.installed().byName("line-count").map(p -> p.getClass().getName()))
                    .contains(PROVIDER);
        } finally {
            Thread.currentThread().setContextClassLoader(contextBefore);
        }
    }

    /** A plug-in jar whose services file names a class that is not there costs only that plug-in. */
    @Test
    void aBrokenProviderIsLeftOutAndTheOthersStillLoad() throws Exception {
        Path working = buildPlugin(false, List.of("--class-path", String.join(File.pathSeparator, testClassPath())));
        Path broken = dir.resolve("broken.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(broken))) {
            out.putNextEntry(new JarEntry("META-INF/services/" + ExporterProvider.class.getName()));
            out.write("com.example.missing.MissingProvider\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {broken.toUri().toURL(), working.toUri().toURL()},
                getClass().getClassLoader())) {
            assertThat(ExportFormats.load(loader).names()).containsExactly("html", "speedscope", "pprof",
                    "collapsed", "austin", "mojo", "jsonl", "gecko", "chrome", "sgr", "line-count");
        }
    }

    /**
     * The module-path case: the plug-in module and Spyglass's own modules resolved into a new layer, as a
     * program on the module path would have them. The layer holds its own copy of Spyglass, so it is driven
     * through reflection and fed copies of the test's samples.
     */
    @Test
    @SuppressWarnings("unchecked")
    void aProviderInAModuleIsFoundThroughItsLayerByNameAndByEnding() throws Exception {
        List<Path> spyglassModules = modulesOnTheTestClassPath();
        Path jar = buildPlugin(true, List.of("--module-path", join(spyglassModules)));
        List<Path> modulePath = new ArrayList<>(spyglassModules);
        modulePath.add(jar);
        Configuration cf = ModuleLayer.boot().configuration().resolve(
                ModuleFinder.of(modulePath.toArray(Path[]::new)), ModuleFinder.of(), Set.of("com.example.linecount"));
        ModuleLayer layer = ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
        ClassLoader loader = layer.findLoader("dev.spyglass");

        Class<?> formatsType = loader.loadClass(ExportFormats.class.getName());
        assertThat(formatsType.getModule().getName()).isEqualTo("dev.spyglass");
        Object formats = formatsType.getMethod("load", ModuleLayer.class).invoke(null, layer);
        assertThat((List<Object>) formatsType.getMethod("names").invoke(formats)).containsExactly("html", "speedscope",
                "pprof", "collapsed", "austin", "mojo", "jsonl", "gecko", "chrome", "sgr", "line-count");
        Object lines = ((Optional<?>) formatsType.getMethod("byName", String.class).invoke(formats, "line-count"))
                .orElseThrow();
        assertThat(lines.getClass().getName()).isEqualTo(PROVIDER);
        assertThat(lines.getClass().getModule().getName()).isEqualTo("com.example.linecount");
        assertThat((Optional<Object>) formatsType.getMethod("forFileName", String.class).invoke(formats, "run.lines"))
                .containsSame(lines);

        Class<?> optionsType = loader.loadClass(ExportOptions.class.getName());
        Method create = loader.loadClass(ExporterProvider.class.getName()).getMethod("create", OutputStream.class,
                optionsType);
        Method accept = loader.loadClass(SampleSink.class.getName()).getMethod("accept",
                loader.loadClass(StackSample.class.getName()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (AutoCloseable exporter = (AutoCloseable) create.invoke(lines, out,
                optionsType.getMethod("defaults").invoke(null))) {
            for (StackSample s : SyntheticProfile.samples()) {
                accept.invoke(exporter, copyInto(loader, s));
            }
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expectedCounts(-1));
    }

    private static String expectedCounts(long pid) {
        int frames = SyntheticProfile.samples().stream().mapToInt(s -> s.frames().size()).sum();
        return "samples=" + SyntheticProfile.ALL + " frames=" + frames + " pid=" + pid;
    }

    /** Compiles the plug-in's source with the JDK's compiler and packs it, with a services file or as a module. */
    private Path buildPlugin(boolean asModule, List<String> compilerPath) throws IOException {
        Path src = dir.resolve(asModule ? "module-src" : "src");
        Path source = src.resolve(PROVIDER.replace('.', '/') + ".java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, PROVIDER_SOURCE);
        if (asModule) {
            Files.writeString(src.resolve("module-info.java"), MODULE_SOURCE);
        }
        Path classes = dir.resolve(asModule ? "module-classes" : "classes");
        List<String> options = new ArrayList<>(List.of("-d", classes.toString(), "--release", "22"));
        options.addAll(compilerPath);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, StandardCharsets.UTF_8);
                Stream<Path> walk = Files.walk(src)) {
            List<Path> sources = walk.filter(p -> p.toString().endsWith(".java")).toList();
            boolean compiled = javac.getTask(diagnostics, files, null, options, null,
                    files.getJavaFileObjectsFromPaths(sources)).call();
            assertThat(compiled).as("javac: %s", diagnostics).isTrue();
        }

        Path jar = dir.resolve(asModule ? "linecount-module.jar" : "linecount.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
                Stream<Path> walk = Files.walk(classes)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
            if (!asModule) {
                out.putNextEntry(new JarEntry("META-INF/services/" + ExporterProvider.class.getName()));
                out.write((PROVIDER + "\n").getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        return jar;
    }

    /** Surefire runs tests from a manifest-only jar; it names the real class path in a property. */
    private static List<String> testClassPath() {
        String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return Arrays.stream(path.split(File.pathSeparator)).filter(s -> !s.isEmpty()).toList();
    }

    /** The class-path entries that are modules (core's classes, elf, cpython-abi, slf4j, ...). */
    private static List<Path> modulesOnTheTestClassPath() {
        List<Path> modules = new ArrayList<>();
        for (String entry : testClassPath()) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p) ? Files.exists(p.resolve("module-info.class")) : isModularJar(p)) {
                modules.add(p);
            }
        }
        assertThat(modules).as("core's own module on the test class path").anySatisfy(
                p -> assertThat(ModuleFinder.of(p).find("dev.spyglass")).isPresent());
        return modules;
    }

    /** A jar with a module descriptor, at its root or, as slf4j's, in a versioned folder. */
    private static boolean isModularJar(Path p) {
        return p.toString().endsWith(".jar") && Files.isRegularFile(p) && ModuleFinder.of(p).findAll().stream()
                .anyMatch(m -> !m.descriptor().isAutomatic());
    }

    private static String join(List<Path> paths) {
        return String.join(File.pathSeparator, paths.stream().map(Path::toString).toList());
    }

    /**
     * A copy of a sample made of the layer's own classes: records are rebuilt component by component through
     * their canonical constructors, enums by name; strings, numbers and lists are shared by both.
     */
    private static Object copyInto(ClassLoader loader, Object value) throws ReflectiveOperationException {
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            for (Object o : list) {
                copy.add(copyInto(loader, o));
            }
            return copy;
        }
        if (value instanceof Enum<?> e) {
            return enumConstant(loader.loadClass(e.getDeclaringClass().getName()), e.name());
        }
        if (value == null || !value.getClass().isRecord()) {
            return value;
        }
        Class<?> target = loader.loadClass(value.getClass().getName());
        RecordComponent[] from = value.getClass().getRecordComponents();
        RecordComponent[] to = target.getRecordComponents();
        Object[] args = new Object[from.length];
        Class<?>[] types = new Class<?>[from.length];
        for (int i = 0; i < from.length; i++) {
            args[i] = copyInto(loader, from[i].getAccessor().invoke(value));
            types[i] = to[i].getType();
        }
        return target.getDeclaredConstructor(types).newInstance(args);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumConstant(Class<?> type, String name) {
        return Enum.valueOf((Class) type, name);
    }
}
