package dev.spyglass.internal.session;

import dev.spyglass.ProfileEvent;

/** Where an {@link EventSource} puts the events of one tick; the session counts what it takes and drops. */
public interface EventBuffer {

    /** Takes one event. Never blocks: when the session's queue is full, the event is dropped and counted. */
    void add(ProfileEvent event);

    /** Counts one sample the source left out because what it read changed while it was read (a torn stack). */
    void tornSample();

    /**
     * Counts one thread whose first read in a tick was torn: {@code recovered} when the read made once more at
     * once gave a whole stack (that stack is the sample, taken by {@link #add} as any other), else the thread is
     * also counted by {@link #tornSample()}.
     */
    void tornAtFirstRead(boolean recovered);
}
