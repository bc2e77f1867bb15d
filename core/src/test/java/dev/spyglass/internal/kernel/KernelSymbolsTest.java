package dev.spyglass.internal.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class KernelSymbolsTest {

    /** The address /proc/kallsyms gives {@code name} (its first text line), or 0. */
    static long addressIn(List<String> kallsyms, String name) {
        for (String line : kallsyms) {
            String[] f = line.split("\\s+");
            if (f.length >= 3 && f[2].equals(name) && (f[1].equals("T") || f[1].equals("t"))) {
                return Long.parseUnsignedLong(f[0], 16);
            }
        }
        return 0;
    }

    @Test
    void namesTheRealKernelsFunctions() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("/proc/kallsyms"));
        long vfsRead = addressIn(lines, "vfs_read");
        Assumptions.assumeTrue(vfsRead != 0, "/proc/kallsyms hides addresses from this user (needs root/CAP_SYSLOG)");
        KernelSymbols s = KernelSymbols.load();
        assertThat(s.available()).isTrue();
        assertThat(s.size()).isGreaterThan(10_000);
        assertThat(s.nameOf(vfsRead)).isEqualTo("vfs_read");
        assertThat(s.nameOf(vfsRead + 1)).isEqualTo("vfs_read");
        assertThat(s.startOf(vfsRead + 1)).isEqualTo(vfsRead);
        assertThat(s.nameOf(addressIn(lines, "ksys_read") + 16)).isEqualTo("ksys_read");
        // Same String for the same symbol: the sampler may compare or cache by identity.
        assertThat(s.nameOf(vfsRead)).isSameAs(s.nameOf(vfsRead + 2));
        assertThat(s.nameOf(0x1000)).isNull();
        // A module's symbol ("name\t[module]") is named without the module.
        for (String line : lines) {
            String[] f = line.split("\\s+");
            if (f.length == 4 && f[3].startsWith("[") && (f[1].equals("t") || f[1].equals("T"))
                    && !f[0].matches("0+")) {
                long a = Long.parseUnsignedLong(f[0], 16);
                assertThat(s.startOf(a)).isEqualTo(a);
                assertThat(s.nameOf(a)).doesNotContain("[").doesNotContain("\t");
                break;
            }
        }
    }

    @Test
    void hiddenAddressesMeanNoSymbols() throws Exception {
        // What an unprivileged user reads (kernel.kptr_restrict, no CAP_SYSLOG); the real file read as
        // another user is checked by KernelCallchainsAccessTest.
        KernelSymbols s = KernelSymbols.parse(new StringReader(String.join("\n",
                "0000000000000000 T _stext", "0000000000000000 T vfs_read", "0000000000000000 t ext4_read\t[ext4]", "")));
        assertThat(s.available()).isFalse();
        assertThat(s.nameOf(0)).isNull();
        assertThat(s.nameOf(0xffffffff81000000L)).isNull();
    }

    @Test
    void sortsKeepsTextAndWeakTextOnlyAndStripsModules() throws Exception {
        KernelSymbols s = KernelSymbols.parse(new StringReader(String.join("\n",
                "ffffffffc0002000 t mod_b\t[mod]",
                "ffffffff81000000 T _stext",
                "ffffffff81000100 W weak_text",
                "ffffffff82000000 D some_data",
                "ffffffff81000200 t local_fn",
                "ffffffffc0001000 T mod_a\t[mod]",
                "ffffffffff000000 w weak_beyond_text",
                "garbage line",
                "zz T bad_address",
                "")));
        assertThat(s.size()).isEqualTo(5);
        assertThat(s.nameOf(0xffffffff81000000L)).isEqualTo("_stext");
        assertThat(s.nameOf(0xffffffff81000150L)).isEqualTo("weak_text");
        assertThat(s.nameOf(0xffffffff81000250L)).isEqualTo("local_fn");
        assertThat(s.nameOf(0xffffffffc0001010L)).isEqualTo("mod_a");
        assertThat(s.nameOf(0xffffffffc0002010L)).isEqualTo("mod_b");
        assertThat(s.nameOf(0xffffffff80ffffffL)).isNull();
        // Far beyond the last symbol (weak_beyond_text was dropped as not text): not named.
        assertThat(s.nameOf(0xffffffffff000000L)).isNull();
    }

    @Test
    void anUnreadableFileGivesAnEmptyTable() {
        KernelSymbols s = KernelSymbols.load(Path.of("/nonexistent/kallsyms"));
        assertThat(s.available()).isFalse();
        assertThat(s.nameOf(0xffffffff81000000L)).isNull();
    }
}
