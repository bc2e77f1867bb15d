package dev.spyglass.internal.session;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.spyglass.StackSample;

/**
 * The bounded queue between the sampling thread and the session's one consumer, handing samples over in
 * batches.
 *
 * <p>Why batches: a consumer blocked in {@link ArrayBlockingQueue#poll(long, TimeUnit)} is woken by every
 * offer, so each tick cost a futex wake on the sampling thread and a context switch into the consumer (at
 * 1 kHz on a one-thread target, 2.6 futex calls per tick, and the consumer thread took about two thirds of
 * the sampling thread's CPU, most of it in the kernel). Here the consumer parks on its own for up to
 * {@link #BATCH_NANOS} when the queue is empty and takes what came meanwhile; an offer wakes nobody, except
 * after every half a queue of offers (so a fast sampler does not fill it while the consumer sleeps) and at the end.
 * A consumer sees a sample at most {@code BATCH_NANOS} later than it was taken.
 */
public final class SampleHandoff {
    /** How long an idle consumer waits before looking again: a refresh of a live view is 1 s. */
    static final long BATCH_NANOS = 10_000_000L;

    private final ArrayBlockingQueue<StackSample> queue;
    private final int wakeAt;
    /** Offers since the consumer was last woken (sampling thread only): no second lock per sample for a size. */
    private int sinceWake;
    private volatile Thread consumer;
    private volatile boolean ended;

    public SampleHandoff(int capacity) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.wakeAt = Math.max(1, capacity / 2);
    }

    /** Sampling thread: queues {@code s}; {@code false} when the queue is full (the sample is dropped). */
    public boolean offer(StackSample s) {
        if (!queue.offer(s)) {
            wake();
            return false;
        }
        // Half a queue offered since the last wake: the queue holds at most that plus what the consumer left.
        if (++sinceWake >= wakeAt) {
            wake();
        }
        return true;
    }

    /** Sampling thread: no more samples will come; the consumer drains what is queued and ends. */
    public void end() {
        ended = true;
        wake();
    }

    /**
     * Consumer: the next sample, waiting for one; {@code null} once {@link #end()} was called and the queue
     * is empty.
     *
     * @throws InterruptedException when the calling thread is interrupted while waiting (its flag cleared)
     */
    public StackSample next() throws InterruptedException {
        consumer = Thread.currentThread();
        while (true) {
            StackSample s = queue.poll();
            if (s != null) {
                return s;
            }
            if (ended) {
                return queue.poll();
            }
            LockSupport.parkNanos(this, BATCH_NANOS);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    private void wake() {
        sinceWake = 0;
        Thread c = consumer;
        if (c != null) {
            LockSupport.unpark(c);
        }
    }
}
