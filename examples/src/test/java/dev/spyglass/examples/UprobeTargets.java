package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

import dev.spyglass.elf.ElfFile;
import dev.spyglass.testsupport.PythonInterpreter;

/**
 * What the CLI tests of the uprobe commands ({@link LatencyCliIT}, {@link TraceCliIT}, {@link LeaksCliIT}) share:
 * the C library a target loads, its ready line, and the first byte of a probed function in the target (an int3
 * while probed), read to tell that no probe outlives the command.
 */
final class UprobeTargets {
    private UprobeTargets() {
    }

    static void assumeRoot() throws Exception {
        Assumptions.assumeTrue("0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                .readAllBytes()).trim()), "uprobes need root");
    }

    /** {@code dir}/lib{name}.so built from {@code source} with gcc (skipped without gcc). */
    static Path buildLibrary(Path dir, String name, String source) throws Exception {
        Path src = dir.resolve(name + ".c");
        Files.writeString(src, source);
        Path lib = dir.resolve("lib" + name + ".so");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no gcc on this machine");
            throw e;
        }
        String out = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0).as("gcc: %s", out).isTrue();
        return lib;
    }

    /** Waits for the target's first line, {@code ready}. */
    static void awaitReady(PythonInterpreter py, Process target) throws Exception {
        byte[] ready = new byte[6];
        int n = target.getInputStream().readNBytes(ready, 0, 6);
        assertThat(new String(ready, 0, n)).as(py.label() + ": target ready").isEqualTo("ready\n");
    }

    /** The run-time address of {@code symbol} of {@code lib} in {@code pid}: its mapping at offset 0 plus the value. */
    static long address(long pid, Path lib, String symbol) throws Exception {
        return address(pid, lib, lib, symbol);
    }

    /**
     * The run-time address in {@code pid} of {@code symbol} of {@code mapped}, its value read from {@code symbols}
     * (the unstripped copy of a stripped {@code mapped}).
     */
    static long address(long pid, Path mapped, Path symbols, String symbol) throws Exception {
        long base = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[5].equals(mapped.toString()) && Long.parseLong(f[2], 16) == 0) {
                base = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                break;
            }
        }
        assertThat(base).as("%s mapped", mapped).isPositive();
        try (ElfFile elf = ElfFile.open(symbols)) {
            return base + elf.symbol(symbol).orElseThrow().value();
        }
    }

    /** {@code dir}/{@code name}: {@code full} stripped of its symbol table ({@code strip --strip-all}; skipped without strip). */
    static Path strippedCopy(Path dir, Path full, String name) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/strip")), "strip (binutils) is not installed");
        Path stripped = dir.resolve(name);
        Files.copy(full, stripped);
        Process strip = new ProcessBuilder("/usr/bin/strip", "--strip-all", stripped.toString()).inheritIO().start();
        assertThat(strip.waitFor(60, TimeUnit.SECONDS) && strip.exitValue() == 0).as("strip").isTrue();
        try (ElfFile elf = ElfFile.open(stripped)) {
            assertThat(elf.section(".symtab")).as("stripped").isEmpty();
        }
        return stripped;
    }

    /**
     * Runs the CLI as nobody ({@code setpriv}) on a system python3 running as nobody too: {@code args} are the
     * command's arguments for the target's PID. Skipped without root, setpriv or /usr/bin/python3.
     */
    static SpyglassCliIT.Result asNobody(Path dir, java.util.function.LongFunction<List<String>> args)
            throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "needs a system /usr/bin/python3 that nobody may run");
        Assumptions.assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false),
                "needs root to run the CLI as another user");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> nobody = List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
        List<String> t = new java.util.ArrayList<>(nobody);
        t.addAll(List.of(python.toString(), "-c", "import time\nwhile True: time.sleep(0.01)"));
        Process target = new ProcessBuilder(t).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(500);
            List<String> cmd = new java.util.ArrayList<>(nobody);
            cmd.addAll(SpyglassCliIT.cli(args.apply(target.pid()).toArray(String[]::new)));
            return SpyglassCliIT.run(cmd, 60);
        } finally {
            target.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    static byte byteAt(long pid, long address) throws Exception {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(address);
            return (byte) mem.read();
        }
    }

    /**
     * Runs {@code command} (which places probes on {@code target} and says "probes on" on its standard error, into
     * {@code err}), kills its JVM with SIGKILL once the probe at {@code address} is in place, and checks that the
     * kernel removed the probe with the dead process's descriptors ({@code original} is the byte again) and that
     * the target lives on.
     */
    static void killedCliLeavesNoProbe(List<String> command, Path err, Process target, long address, byte original)
            throws Exception {
        Process cli = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile()).start();
        try {
            for (int i = 0; i < 3000 && !(Files.exists(err) && Files.readString(err).contains("probes on")); i++) {
                Thread.sleep(10);
            }
            assertThat(Files.readString(err)).contains("probes on");
            assertThat(byteAt(target.pid(), address)).as("int3 while probed").isEqualTo((byte) 0xCC);
            cli.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(cli.waitFor(20, TimeUnit.SECONDS)).isTrue();
            // The kernel closes a dead process's descriptors; the breakpoints go with the last one.
            byte after = byteAt(target.pid(), address);
            for (int i = 0; i < 200 && after != original; i++) {
                Thread.sleep(10);
                after = byteAt(target.pid(), address);
            }
            assertThat(after).as("probes gone after kill -9 of the JVM").isEqualTo(original);
            assertThat(target.isAlive()).isTrue();
        } finally {
            cli.destroyForcibly();
        }
    }
}
