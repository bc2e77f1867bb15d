package dev.spyglass;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ModuleSmoke;

class CoreModuleSmokeTest {
    @Test
    void runsOnJdk22OrNewer() {
        ModuleSmoke.assertRunningOnJdk22OrNewer();
    }

    @Test
    void exportsOnlyApiPackages() throws Exception {
        ModuleDescriptor d = ModuleSmoke.assertModuleDescriptor("dev.spyglass",
                Set.of("dev.spyglass", "dev.spyglass.export"));
        assertThat(d.packages()).allSatisfy(p -> assertThat(p.contains(".internal") || Set.of("dev.spyglass",
                "dev.spyglass.export").contains(p)).as("package %s is API or internal", p).isTrue());
    }

    /** The API shows only its own types: a user does not read the abi module's layouts and offsets. */
    @Test
    void requiresNothingTransitively() throws Exception {
        ModuleDescriptor d = ModuleSmoke.assertModuleDescriptor("dev.spyglass",
                Set.of("dev.spyglass", "dev.spyglass.export"));
        assertThat(d.requires()).filteredOn(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE))
                .as("transitive requires").isEmpty();
        assertThat(d.requires()).extracting(ModuleDescriptor.Requires::name)
                .contains("dev.spyglass.cpython.abi", "dev.spyglass.elf");
    }
}
