package dev.spyglass.internal.python;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.elf.ElfFile;
import dev.spyglass.elf.Section;
import dev.spyglass.elf.Symbol;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/**
 * The exact CPython version of an object that defines CPython's symbols: {@code Py_Version} (3.11+,
 * the hex version the running interpreter carries), else a version string in {@code .rodata}
 * ({@code Py_GetVersion}'s), else the file name ({@code libpython3.9.so}, {@code python2.7}: micro
 * unknown).
 */
final class VersionProbe {
    private static final Logger LOG = LoggerFactory.getLogger(VersionProbe.class);

    /** A version and where it came from. */
    record Found(PythonVersion version, String source) {
    }

    private VersionProbe() {
    }

    /** @throws UnsupportedPythonVersionException when no source holds a version */
    static Found probe(long pid, String path, ElfFile elf, long bias, Optional<Symbol> pyVersion, RemoteMemory memory)
            throws SpyglassException {
        String fileName = Path.of(path).getFileName().toString();
        PythonVersion version = null;
        String versionSource = null;
        if (pyVersion.isPresent()) {
            try {
                long hex = Integer.toUnsignedLong(memory.readInt(bias + pyVersion.get().value()));
                version = PythonVersion.fromHex(hex, false);
                versionSource = "Py_Version";
            } catch (MemoryFault | IllegalArgumentException e) {
                LOG.debug("Py_Version unreadable in {}: {}", path, e.toString());
            }
        }
        Optional<PythonVersion> fromName = PythonVersion.fromFileName(fileName);
        if (version == null) {
            Optional<Section> rodata = elf.section(".rodata");
            if (rodata.isPresent()) {
                List<String> prefixes = new ArrayList<>();
                fromName.ifPresent(v -> prefixes.add(v.major() + "." + v.minor() + "."));
                prefixes.add("3.");
                prefixes.add("2.7.");
                for (String prefix : prefixes) {
                    Optional<PythonVersion> v = elf.findVersionString(rodata.get(), prefix, 4096)
                            .flatMap(PythonVersion::parse);
                    if (v.isPresent()) {
                        version = v.get();
                        versionSource = ".rodata version string";
                        break;
                    }
                }
            }
        }
        if (version == null && fromName.isPresent()) {
            version = fromName.get();
            versionSource = "file name " + fileName;
        }
        if (version == null) {
            throw new UnsupportedPythonVersionException("process " + pid + " maps " + path
                    + ", which defines CPython symbols, but its version could not be determined (no Py_Version, "
                    + "no version string in .rodata, no version in the file name); Spyglass supports "
                    + UnsupportedPythonVersionException.SUPPORTED);
        }
        return new Found(version, versionSource);
    }
}
