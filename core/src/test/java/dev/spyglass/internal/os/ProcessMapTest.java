package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;

import org.junit.jupiter.api.Test;

class ProcessMapTest {

    private static final String MAPS = String.join("\n",
            "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/python3.14",
            "00652000-00653000 rw-p 00052000 08:02 173521      /usr/bin/python3.14",
            "01a8b000-01aac000 rw-p 00000000 00:00 0           [heap]",
            "7f1c00000000-7f1c00021000 rw-p 00000000 00:00 0 ",
            "7f1c10000000-7f1c10010000 r--p 00001000 fd:01 42  /opt/my app/lib python.so (deleted)",
            "7f1c10010000-7f1c10020000 r-xp 00011000 fd:01 42  /opt/my app/lib python.so (deleted)",
            "7ffd1e0f5000-7ffd1e116000 rw-p 00000000 00:00 0                          [stack]",
            "garbage line",
            "");

    @Test
    void findsWhereTheCodeAtAFileOffsetIsMapped() {
        ProcessMap map = ProcessMap.parse(1, MAPS);
        // the library's code mapping holds file offsets 0x11000 - 0x21000; its r-- mapping holds 0x1000 - 0x11000
        assertThat(map.codeAddresses(m -> m.inode() == 42, 0x11234)).containsExactly(0x7f1c10010234L);
        assertThat(map.codeAddresses(m -> m.inode() == 42, 0x1234)).as("not in an executable mapping").isEmpty();
        assertThat(map.codeAddresses(m -> m.path().equals("/usr/bin/python3.14"), 0x100)).containsExactly(0x400100L);
        assertThat(map.codeAddresses(m -> m.inode() == 7, 0x11234)).as("another file").isEmpty();
    }

    @Test
    void parsesPathsWithSpacesDeletedFilesAndAnonymousMaps() {
        ProcessMap map = ProcessMap.parse(1, MAPS);
        assertThat(map.mappings()).hasSize(7);
        ProcessMap.Mapping lib = map.find(0x7f1c10010010L).orElseThrow();
        assertThat(lib.path()).isEqualTo("/opt/my app/lib python.so");
        assertThat(lib.deleted()).isTrue();
        assertThat(lib.executable()).isTrue();
        assertThat(lib.fileOffset()).isEqualTo(0x11000);
        assertThat(lib.inode()).isEqualTo(42);
        ProcessMap.Mapping anon = map.find(0x7f1c00000010L).orElseThrow();
        assertThat(anon.path()).isEmpty();
        assertThat(anon.isFile()).isFalse();
        assertThat(map.find(0x01a8b000L).orElseThrow().path()).isEqualTo("[heap]");
        assertThat(map.files()).containsOnlyKeys("/usr/bin/python3.14", "/opt/my app/lib python.so");
        assertThat(map.files().get("/opt/my app/lib python.so")).hasSize(2);
    }

    @Test
    void answersWhetherRangesAreReadable() {
        ProcessMap map = ProcessMap.parse(1, MAPS);
        assertThat(map.isReadable(0x00400000L, 8)).isTrue();
        assertThat(map.isReadable(0x00451ff8L, 8)).isTrue();
        assertThat(map.isReadable(0x00451ffcL, 8)).isFalse();
        assertThat(map.isReadable(0x00300000L, 8)).isFalse();
        assertThat(map.isReadable(0xffffffffff600000L, 8)).isFalse();
        assertThat(map.find(0x00653000L)).isEmpty();
    }

    @Test
    void opensMappedFilesThroughTheTargetsRoot() throws Exception {
        long self = ProcessHandle.current().pid();
        ProcessMap map = ProcessMap.read(self);
        ProcessMap.Mapping libc = map.mappings().stream().filter(m -> m.path().contains("libc.so")).findFirst()
                .orElseThrow();
        var path = map.openablePath(libc).orElseThrow();
        assertThat(path.toString()).startsWith("/proc/" + self + "/root/");
        assertThat(Files.isReadable(path)).isTrue();
    }

    @Test
    void theDirectPathIsTrustedOnlyForTheMappedInode() throws Exception {
        long self = ProcessHandle.current().pid();
        ProcessMap.Mapping libc = ProcessMap.read(self).mappings().stream()
                .filter(m -> m.path().contains("libc.so")).findFirst().orElseThrow();
        java.nio.file.Path direct = java.nio.file.Path.of(libc.path());
        assertThat(ProcessMap.sameInode(direct, libc.inode())).isTrue();
        assertThat(ProcessMap.sameInode(direct, libc.inode() + 1)).isFalse();
        assertThat(ProcessMap.sameInode(java.nio.file.Path.of("/nonexistent"), libc.inode())).isFalse();
    }
}
