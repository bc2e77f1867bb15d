package dev.spyglass.internal.session;

import java.util.Arrays;

/**
 * When each thread was last sampled, for weighing wall-mode samples by the time that really passed
 * (as Austin does). Keys are non-zero {@code long}s (a kernel TID, else a thread-state address).
 *
 * <p>Two open-addressing tables, the previous look's and the current one's: a look moves each thread
 * it sees into the current table and {@link #endLook} drops the rest, so a thread that is gone is
 * forgotten after one look and memory stays bounded by the threads of one look. No allocation once
 * the tables have grown to the process's thread count. Not thread-safe: the sampling thread only.
 */
final class LastSampleTimes {
    /** No previous sample known: the thread is new, or was not seen in the previous look. */
    static final long UNKNOWN = Long.MIN_VALUE;

    private long[] previousKeys = new long[16];
    private long[] previousTimes = new long[16];
    private long[] currentKeys = new long[16];
    private long[] currentTimes = new long[16];
    private int currentSize;

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** The time of the thread's last sample as of the previous look, or {@link #UNKNOWN}. */
    long previous(long key) {
        int mask = previousKeys.length - 1;
        for (int i = slot(key, mask);; i = (i + 1) & mask) {
            long k = previousKeys[i];
            if (k == key) {
                return previousTimes[i];
            }
            if (k == 0) {
                return UNKNOWN;
            }
        }
    }

    /** Records the thread as seen in this look, last sampled at {@code time} ({@link #UNKNOWN} for never). */
    void seen(long key, long time) {
        if (key == 0) {
            throw new IllegalArgumentException("key 0");
        }
        if ((currentSize + 1) * 4 > currentKeys.length * 3) {
            long[] keys = currentKeys;
            long[] times = currentTimes;
            currentKeys = new long[keys.length * 2];
            currentTimes = new long[keys.length * 2];
            currentSize = 0;
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != 0) {
                    seen(keys[i], times[i]);
                }
            }
        }
        int mask = currentKeys.length - 1;
        for (int i = slot(key, mask);; i = (i + 1) & mask) {
            long k = currentKeys[i];
            if (k == key || k == 0) {
                if (k == 0) {
                    currentKeys[i] = key;
                    currentSize++;
                }
                currentTimes[i] = time;
                return;
            }
        }
    }

    /** Ends a look: the threads it saw become the previous look's; the others are forgotten. */
    void endLook() {
        long[] keys = previousKeys;
        long[] times = previousTimes;
        previousKeys = currentKeys;
        previousTimes = currentTimes;
        if (keys.length != previousKeys.length) {
            keys = new long[previousKeys.length];
            times = new long[previousKeys.length];
        } else {
            Arrays.fill(keys, 0);
        }
        currentKeys = keys;
        currentTimes = times;
        currentSize = 0;
    }
}
