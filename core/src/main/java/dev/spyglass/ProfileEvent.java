package dev.spyglass;

/**
 * Something a {@link SamplingSession} observed in a target process. A session drives one or more
 * sources and each delivers events of one kind; the family is sealed so that a {@code switch} over
 * it is checked to handle every kind.
 *
 * <p>Today there is one kind, {@link StackSample}: one thread's stack at one tick. Allocation and
 * release events, memory (RSS) events and process events (start, exec, exit) join the family as
 * their sources are added; each says what its weight measures (time, bytes), so the common
 * accessors are only those every kind has.
 */
public sealed interface ProfileEvent permits StackSample {

    /** The id of the process the event happened in, in the sampler's PID namespace. */
    long pid();

    /** When the event happened, nanoseconds since the Unix epoch. */
    long timestampNanos();
}
