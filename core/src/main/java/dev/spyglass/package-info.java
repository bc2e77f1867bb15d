/**
 * The Spyglass API: attach to or launch a CPython process ({@code PythonProcess}), take snapshots,
 * sample with a {@code Sampler} and receive {@link dev.spyglass.StackSample}s.
 */
package dev.spyglass;
