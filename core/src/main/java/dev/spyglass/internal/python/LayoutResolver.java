package dev.spyglass.internal.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.spyglass.SpyglassException;
import dev.spyglass.UnsupportedPythonVersionException;
import dev.spyglass.cpython.abi.DebugOffsets;
import dev.spyglass.cpython.abi.InvalidDebugOffsetsException;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.Layouts;
import dev.spyglass.cpython.abi.PythonVersion;
import dev.spyglass.cpython.abi.UnsupportedLayoutException;
import dev.spyglass.internal.os.MemoryFault;
import dev.spyglass.internal.os.RemoteMemory;

/** Picks the layout: built-in tables up to 3.12, the target's own {@code _Py_DebugOffsets} from 3.13. */
final class LayoutResolver {
    private LayoutResolver() {
    }

    static Layout layoutFor(long pid, PythonVersion version, long runtimeAddress, RemoteMemory memory, String object)
            throws SpyglassException {
        if (!version.isAtLeast(3, 13)) {
            try {
                return Layouts.forVersion(version);
            } catch (UnsupportedLayoutException e) {
                throw unsupported(pid, version, object, e.getMessage());
            }
        }
        if (runtimeAddress == 0) {
            throw unsupported(pid, version, object, "no _PyRuntime symbol or .PyRuntime section to read "
                    + "_Py_DebugOffsets from");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(DebugOffsets.BYTES_TO_READ, 8);
            memory.read(runtimeAddress, buf);
            // Free-threaded builds (3.13t – 3.15t) say so in the table; parse takes the flag from it.
            return DebugOffsets.parse(buf, version.micro() < 0 ? null : version);
        } catch (MemoryFault e) {
            throw new SpyglassException("process " + pid + ": cannot read _PyRuntime at 0x"
                    + Long.toHexString(runtimeAddress) + " in " + object + ": " + e.getMessage());
        } catch (InvalidDebugOffsetsException e) {
            throw unsupported(pid, version, object, "its _Py_DebugOffsets table is not valid: " + e.getMessage());
        } catch (UnsupportedLayoutException e) {
            throw unsupported(pid, version, object, e.getMessage());
        }
    }

    private static UnsupportedPythonVersionException unsupported(long pid, PythonVersion version, String object,
            String why) {
        return new UnsupportedPythonVersionException("process " + pid + " runs CPython " + version + " (" + object
                + "), which Spyglass cannot read: " + why + ". Supported: " + UnsupportedPythonVersionException.SUPPORTED);
    }
}
