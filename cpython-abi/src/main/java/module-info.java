/**
 * What CPython looks like in memory, per version: {@link dev.spyglass.cpython.abi.PythonVersion},
 * struct layouts, {@code _Py_DebugOffsets}, line-table and string decoders. Pure code over bytes: no
 * I/O, no processes.
 */
module dev.spyglass.cpython.abi {
    requires org.slf4j;

    exports dev.spyglass.cpython.abi;
}
