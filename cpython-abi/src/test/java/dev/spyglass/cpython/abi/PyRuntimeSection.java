package dev.spyglass.cpython.abi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The {@code .PyRuntime} section of an ELF file on disk (3.10+: it starts exactly at {@code _PyRuntime},
 * and its initial bytes hold {@code _Py_DebugOffsets} from 3.13 on), extracted with binutils' objcopy so
 * the test does not depend on the elf module.
 */
final class PyRuntimeSection {

    private PyRuntimeSection() {
    }

    static MemorySegment read(Path elf) throws IOException, InterruptedException {
        Path out = Files.createTempFile("spyglass-pyruntime-", ".bin");
        try {
            Process p = new ProcessBuilder("objcopy", "-O", "binary", "--only-section=.PyRuntime", elf.toString(),
                    out.toString()).redirectErrorStream(true).start();
            String msg = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("objcopy failed on " + elf + ": " + msg);
            }
            byte[] bytes = Files.readAllBytes(out);
            if (bytes.length == 0) {
                throw new AssertionError(elf + " has no .PyRuntime section");
            }
            return MemorySegment.ofArray(bytes);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
