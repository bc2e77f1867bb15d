package dev.spyglass.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

/** Checks shared by every module's smoke test: the JDK the tests run on and the module descriptor. */
public final class ModuleSmoke {
    private ModuleSmoke() {
    }

    /** The tests run on the JDK the launcher found: 22 or newer (FFM is final from 22). */
    public static void assertRunningOnJdk22OrNewer() {
        assertThat(Runtime.version().feature())
                .as("tests must run on the JDK found by ./spyglass (java.home=%s)", System.getProperty("java.home"))
                .isGreaterThanOrEqualTo(22);
    }

    /**
     * Reads {@code target/classes/module-info.class} of the module under test and checks its name and
     * that it exports exactly {@code exports}, unqualified.
     */
    public static ModuleDescriptor assertModuleDescriptor(String name, Set<String> exports) throws IOException {
        Path info = Path.of("target", "classes", "module-info.class");
        assertThat(info).as("compiled module descriptor").exists();
        ModuleDescriptor d;
        try (InputStream in = Files.newInputStream(info)) {
            d = ModuleDescriptor.read(in);
        }
        assertThat(d.name()).isEqualTo(name);
        Set<String> exported = d.exports().stream()
                .peek(e -> assertThat(e.isQualified()).as("qualified export %s", e).isFalse())
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toSet());
        assertThat(exported).as("exported packages of %s", name).isEqualTo(exports);
        assertThat(d.packages()).as("every package of %s", name).containsAll(exports);
        return d;
    }
}
