package dev.spyglass.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which memory maps {@link DescendantWatch} takes for a CPython worth an attach. */
class DescendantWatchTest {

    @Test
    void aPythonExecutableOrLibpythonWithItsWritableSegmentIsPython() {
        String shell = String.join("\n",
                "55d0c0000000-55d0c0020000 r--p 00000000 08:01 131 /usr/bin/dash",
                "55d0c0020000-55d0c0030000 rw-p 00020000 08:01 131 /usr/bin/dash",
                "7f0000000000-7f0000100000 r-xp 00000000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6", "");
        String dynamic = String.join("\n",
                "55d0c0000000-55d0c0001000 r--p 00000000 08:01 131 /root/.pyenv/versions/3.12.1/bin/python3.12",
                "7f0000000000-7f0000100000 r--p 00000000 08:01 300 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
                "7f0000200000-7f0000300000 rw-p 00200000 08:01 300 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
                "");
        // ld.so has reserved libpython's span but not yet mapped its data: not yet.
        String mapping = String.join("\n",
                "7f0000000000-7f0000300000 r--p 00000000 08:01 300 /usr/lib/libpython3.11.so.1.0", "");
        String pythonInName = "7f0000000000-7f0000001000 rw-p 00000000 08:01 9 /opt/my-python-tools/bin/tool\n";
        assertThat(DescendantWatch.mapsPython(shell)).isFalse();
        assertThat(DescendantWatch.mapsPython(dynamic)).isTrue();
        assertThat(DescendantWatch.mapsPython(mapping)).isFalse();
        assertThat(DescendantWatch.mapsPython(pythonInName)).isFalse();
        assertThat(DescendantWatch.mapsPython("")).isFalse();
    }
}
