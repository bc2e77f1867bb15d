package dev.spyglass.cpython.abi;

import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.spyglass.testsupport.ModuleSmoke;

class CpythonAbiModuleSmokeTest {
    @Test
    void runsOnJdk22OrNewer() {
        ModuleSmoke.assertRunningOnJdk22OrNewer();
    }

    @Test
    void exportsOnlyTheApiPackage() throws Exception {
        ModuleSmoke.assertModuleDescriptor("dev.spyglass.cpython.abi", Set.of("dev.spyglass.cpython.abi"));
    }
}
