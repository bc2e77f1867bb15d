package dev.spyglass.internal.python;

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
 */
public record LocatedInterpreter(String objectPath, long loadBias, PythonVersion version, String versionSource,
        Layout layout, long runtimeAddress, long headAddress, String headSource, long tstateCurrentAddress,
        long codeTypeAddress) {
}
