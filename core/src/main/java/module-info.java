/**
 * Spyglass: attach to a CPython process, read its threads' stacks from outside and deliver
 * {@link dev.spyglass.StackSample}s. Only {@code dev.spyglass} and {@code dev.spyglass.export} are API.
 */
module dev.spyglass {
    requires dev.spyglass.cpython.abi;
    requires dev.spyglass.elf;
    requires org.slf4j;

    exports dev.spyglass;
    exports dev.spyglass.export;
}
