package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.spyglass.internal.os.ProcessMap;

class InterpreterLocatorTest {

    @Test
    void candidatesAreObjectsWithCodePythonNamedFirstWithoutKnownLibraries() {
        ProcessMap map = ProcessMap.parse(1, String.join("\n",
                "00400000-00401000 r--p 00000000 08:02 1 /opt/app/host",
                "00401000-00402000 r-xp 00001000 08:02 1 /opt/app/host",
                "7f0000000000-7f0000001000 r-xp 00000000 08:02 2 /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f0000100000-7f0000101000 r-xp 00000000 08:02 3 /opt/py/lib/libpython3.12.so.1.0",
                "7f0000200000-7f0000201000 r-xp 00000000 08:02 4 /opt/py/lib/python3.12/lib-dynload/_json.cpython-312-x86_64-linux-gnu.so",
                "7f0000300000-7f0000301000 r--p 00000000 08:02 5 /usr/lib/locale/locale-archive",
                "7f0000400000-7f0000401000 r-xp 00000000 08:02 6 /lib64/ld-linux-x86-64.so.2",
                ""));
        List<String> paths = InterpreterLocator.candidates(map).stream().map(Map.Entry::getKey).toList();
        assertThat(paths).containsExactly("/opt/py/lib/libpython3.12.so.1.0", "/opt/app/host");
    }
}
