package dev.spyglass.elf;

import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ModuleSmoke;

class ElfModuleSmokeTest {
    @Test
    void runsOnJdk22OrNewer() {
        ModuleSmoke.assertRunningOnJdk22OrNewer();
    }

    @Test
    void exportsOnlyTheApiPackage() throws Exception {
        ModuleSmoke.assertModuleDescriptor("dev.spyglass.elf", Set.of("dev.spyglass.elf"));
    }
}
