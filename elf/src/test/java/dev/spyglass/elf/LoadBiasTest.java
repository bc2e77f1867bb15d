package dev.spyglass.elf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spyglass.testsupport.ForEachPython;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * {@link ElfFile#loadBias} against running interpreters: from the interpreter object's first line in
 * {@code /proc/PID/maps}, the bias must place {@code .rodata} exactly where the process has the
 * file's bytes, and (3.11+) {@code Py_Version} where the process holds {@code sys.hexversion}. Covers
 * PIE libpython (pyenv) and non-PIE executables (Debian).
 */
class LoadBiasTest {

    record Mapping(long start, long end, long offset, String path) {
    }

    @ForEachPython
    void loadBiasLocatesTheFileInARunningInterpreter(PythonInterpreter py) throws Exception {
        py.assumeAvailable();
        Path object = py.interpreterObject().toRealPath();
        Process p = py.processBuilder("-c", "import sys; print('ready'); sys.stdout.flush(); sys.stdin.read()")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (ElfFile elf = ElfFile.open(object)) {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).as("%s started", py.label()).isEqualTo("ready");

            List<Mapping> maps = maps(p.pid()).stream().filter(m -> m.path().equals(object.toString())).toList();
            assertThat(maps).as("mappings of %s in process %d", object, p.pid()).isNotEmpty();
            Mapping first = maps.stream().min((a, b) -> Long.compareUnsigned(a.offset(), b.offset())).orElseThrow();
            long bias = elf.loadBias(first.start(), first.offset());
            if (elf.isExecutable()) {
                assertThat(bias).isZero();
            } else {
                assertThat(bias).isNotZero();
            }

            Section rodata = elf.section(".rodata").orElseThrow();
            int n = (int) Math.min(256, rodata.size());
            byte[] expected = elf.sectionData(rodata).asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            assertThat(readMemory(p.pid(), bias + rodata.address(), n)).as(".rodata of %s in memory", py.label()).isEqualTo(expected);

            // Every other mapping of the file gives the same bias.
            for (Mapping m : maps) {
                if (m.offset() != first.offset()) {
                    long other = elf.loadBias(m.start(), m.offset());
                    assertThat(other).as("bias from the mapping at offset 0x%x", m.offset()).isEqualTo(bias);
                }
            }

            if (py.atLeast(3, 11)) {
                Symbol version = elf.symbol("Py_Version").orElseThrow();
                byte[] word = readMemory(p.pid(), bias + version.value(), 4);
                long hex = Integer.toUnsignedLong(ByteBuffer.wrap(word).order(ByteOrder.LITTLE_ENDIAN).getInt());
                assertThat(hex).as("Py_Version in memory").isEqualTo(py.hexVersion());
            }
        } finally {
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    static List<Mapping> maps(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps")).stream().map(line -> line.split("\\s+", 6))
                .filter(f -> f.length == 6 && f[5].startsWith("/")).map(f -> {
                    String[] range = f[0].split("-");
                    return new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16),
                            Long.parseUnsignedLong(f[2], 16), f[5].strip());
                }).toList();
    }

    static byte[] readMemory(long pid, long address, int length) throws IOException {
        try (FileChannel mem = FileChannel.open(Path.of("/proc", Long.toString(pid), "mem"), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(length);
            while (buf.hasRemaining()) {
                if (mem.read(buf, address + buf.position()) < 0) {
                    break;
                }
            }
            return MemorySegment.ofBuffer(buf.flip()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}
