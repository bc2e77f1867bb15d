package dev.spyglass.internal.python;

import dev.spyglass.cpython.abi.Field;
import dev.spyglass.cpython.abi.Layout;
import dev.spyglass.cpython.abi.PythonVersion;

/**
 * Where a process's CPython interpreter is and how to read it.
 *
 * @param objectPath          the ELF object holding the interpreter (libpython, the executable, or an
 *                            embedding program), as the target names it
 * @param loadBias            its load bias
 * @param version             the exact version (micro -1 when only the file name told)
 * @param versionSource       where the version came from ({@code Py_Version}, {@code .rodata}, file name)
 * @param layout              the struct layout for this version
 * @param runtimeAddress      {@code _PyRuntime}, or 0 (2.7, 3.6)
 * @param headAddress         the word holding the first {@code PyInterpreterState*}
 *                            ({@code _PyRuntime.interpreters.head}, or {@code interp_head} on 2.7/3.6)
 * @param headSource          how {@code headAddress} was found
 * @param tstateCurrentAddress {@code _PyThreadState_Current} (2.7, 3.6: the thread holding the GIL), or 0
 * @param codeTypeAddress     {@code &PyCode_Type}, or 0 when not exported (learned from the target then)
 * @param finalizingAddress   the word holding the thread state finalising the runtime (3.7+
 *                            {@code _PyRuntime._finalizing}, 3.6 {@code _Py_Finalizing}), or 0 (2.7: none)
 * @param gcCollectingAddress the runtime-wide {@code int} that is nonzero while the cyclic collector runs
 *                            (3.7, 3.8 {@code _PyRuntime.gc.collecting}; 2.7, 3.6 {@code gcmodule.c}'s static
 *                            {@code collecting}, from {@code .symtab}), or 0: 3.9+ keep it per interpreter
 *                            ({@code Field.INTERP_GC_COLLECTING}), or it is unknown (a stripped 2.7/3.6)
 */
public record LocatedInterpreter(String objectPath, long loadBias, PythonVersion version, String versionSource,
        Layout layout, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
        long codeTypeAddress, long finalizingAddress, long gcCollectingAddress) {

    /**
     * Without the 2.7/3.6 symbols: 3.7+ find the finalising thread (and, 3.7 - 3.8, the collector's state)
     * in {@code _PyRuntime}.
     */
    public LocatedInterpreter(String objectPath, long loadBias, PythonVersion version, String versionSource,
            Layout layout, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
            long codeTypeAddress) {
        this(objectPath, loadBias, version, versionSource, layout, runtimeAddress, headAddress, headSource,
                tstateCurrentAddress, codeTypeAddress, inRuntime(runtimeAddress, layout, Field.RUNTIME_FINALIZING),
                inRuntime(runtimeAddress, layout, Field.RUNTIME_GC_COLLECTING));
    }

    /** The same interpreter with the 2.7/3.6 globals found in the object's symbols (0: not found). */
    public LocatedInterpreter withGlobals(long finalizing, long gcCollecting) {
        return new LocatedInterpreter(objectPath, loadBias, version, versionSource, layout, runtimeAddress,
                headAddress, headSource, tstateCurrentAddress, codeTypeAddress,
                finalizing != 0 ? finalizing : finalizingAddress, gcCollecting != 0 ? gcCollecting : gcCollectingAddress);
    }

    private static long inRuntime(long runtimeAddress, Layout layout, Field field) {
        return runtimeAddress != 0 && layout.has(field) ? runtimeAddress + layout.offset(field) : 0;
    }
}
