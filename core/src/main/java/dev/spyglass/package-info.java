/**
 * The Spyglass API: attach to or launch a CPython process ({@link dev.spyglass.PythonProcess}), take
 * snapshots of every thread's stack, sample with a {@link dev.spyglass.Sampler} and receive
 * {@link dev.spyglass.StackSample}s, the one kind of {@link dev.spyglass.ProfileEvent} so far.
 *
 * <h2>Reading a running target</h2>
 * The target is never stopped: its memory is copied with {@code process_vm_readv} while it runs.
 * A thread's stack can therefore change while it is being read. Spyglass detects this instead of
 * guessing: the walk is bounded in depth, must not revisit a frame, must end at the bottom of the
 * thread's stack, every pointer is read through the kernel (an unmapped one fails the read), every
 * thread state must point back to its interpreter, every code object must have the code type, every
 * instruction pointer must lie inside its code object, and every name must decode. A thread that
 * fails any check is read once more at once (fresh, the same checks, and re-checked after; see
 * {@link dev.spyglass.SamplingStats.TornReads}); one that fails again is a <em>torn sample</em>: it is counted
 * ({@link dev.spyglass.SamplingStats#tornSamples()}) and dropped, never reported with frames it did not have.
 *
 * <h2>Permissions</h2>
 * Reading another process needs the rights of a debugger: the same user as the target (with Yama's
 * {@code ptrace_scope} 0, or 1 for descendants), or {@code CAP_SYS_PTRACE}. Otherwise the calls throw
 * {@link dev.spyglass.AccessDeniedException}, whose message names the rule that applies.
 *
 * <h2>Native access</h2>
 * The module calls {@code process_vm_readv} and {@code clock_gettime} through the Foreign Function
 * &amp; Memory API: run with {@code --enable-native-access=dev.spyglass} on the module path, or
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
package dev.spyglass;
