package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which memory maps make a launched process worth stopping for an attach. */
class LaunchWatchTest {
    private static final String SHELL = """
            55d0c0a00000-55d0c0a04000 r--p 00000000 08:01 1312 /usr/bin/dash
            55d0c0a04000-55d0c0a19000 r-xp 00004000 08:01 1312 /usr/bin/dash
            55d0c0a1d000-55d0c0a1f000 rw-p 0001c000 08:01 1312 /usr/bin/dash
            7f1c2e200000-7f1c2e228000 r--p 00000000 08:01 2001 /usr/lib/x86_64-linux-gnu/libc.so.6
            """;
    private static final String LAUNCHER = """
            5600aa000000-5600aa001000 r--p 00000000 08:01 77 /root/.pyenv/versions/3.12.1/bin/python3.12
            5600aa001000-5600aa002000 r-xp 00001000 08:01 77 /root/.pyenv/versions/3.12.1/bin/python3.12
            5600aa003000-5600aa004000 rw-p 00002000 08:01 77 /root/.pyenv/versions/3.12.1/bin/python3.12
            """;
    /** ld.so's first step: the library's whole span reserved with one read-only mapping of the file. */
    private static final String RESERVED = "7f00aa000000-7f00aa600000 r--p 00000000 08:01 78 "
            + "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n";
    private static final String MAPPED = """
            7f00aa000000-7f00aa100000 r--p 00000000 08:01 78 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0
            7f00aa100000-7f00aa400000 r-xp 00100000 08:01 78 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0
            7f00aa500000-7f00aa560000 rw-p 00500000 08:01 78 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0
            7f00ab000000-7f00ab010000 r-xp 00000000 08:01 79 /root/.pyenv/versions/3.12.1/lib/python3.12/lib-dynload/_struct.cpython-312-x86_64-linux-gnu.so
            """;

    @Test
    void aProcessWithoutPythonHasNone() {
        assertThat(LaunchWatch.pythonMappings(SHELL)).isNull();
    }

    @Test
    void aPythonStillBeingMappedIsNotReadyToAttach() {
        assertThat(LaunchWatch.pythonMappings(LAUNCHER + RESERVED)).isEmpty();
    }

    @Test
    void aCompletelyMappedPythonIsTheSameUntilItsObjectsChange() {
        String launcherOnly = LaunchWatch.pythonMappings(SHELL + LAUNCHER);
        String withLibrary = LaunchWatch.pythonMappings(LAUNCHER + MAPPED);
        assertThat(launcherOnly).isNotEmpty().contains("python3.12");
        assertThat(withLibrary).isNotEqualTo(launcherOnly).contains("libpython3.12.so.1.0").doesNotContain("_struct");
        // Extension modules and anonymous mappings come and go while the interpreter starts: no new attach.
        assertThat(LaunchWatch.pythonMappings(LAUNCHER + MAPPED + "7f00ac000000-7f00ac100000 rw-p 00000000 00:00 0\n"))
                .isEqualTo(withLibrary);
    }
}
