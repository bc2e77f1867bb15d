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
 */
public record LocatedInterpreter(String objectPath, long loadBias, PythonVersion version, String versionSource,
        Layout layout, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
        long codeTypeAddress, long finalizingAddress) {

    /** Without the 3.6 {@code _Py_Finalizing} symbol: 3.7+ find the word in {@code _PyRuntime}. */
    public LocatedInterpreter(String objectPath, long loadBias, PythonVersion version, String versionSource,
            Layout layout, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
            long codeTypeAddress) {
        this(objectPath, loadBias, version, versionSource, layout, runtimeAddress, headAddress, headSource,
                tstateCurrentAddress, codeTypeAddress, runtimeAddress != 0 && layout.has(Field.RUNTIME_FINALIZING)
                        ? runtimeAddress + layout.offset(Field.RUNTIME_FINALIZING) : 0);
    }
}
