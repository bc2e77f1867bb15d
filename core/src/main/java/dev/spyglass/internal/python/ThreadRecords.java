package dev.spyglass.internal.python;

import java.util.Arrays;

/** The reused {@link ThreadRecord}s of one look, in the order the threads were found. Not thread-safe. */
final class ThreadRecords {
    private ThreadRecord[] records = new ThreadRecord[8];
    private int count;

    void clear() {
        count = 0;
    }

    int count() {
        return count;
    }

    ThreadRecord get(int i) {
        return records[i];
    }

    ThreadRecord[] array() {
        return records;
    }

    /**
     * Drops record {@code i}, keeping the others in order. The record object moves past the end, to be
     * reused by a later {@link #next()}.
     */
    void remove(int i) {
        java.util.Objects.checkIndex(i, count);
        ThreadRecord r = records[i];
        System.arraycopy(records, i + 1, records, i, count - i - 1);
        records[--count] = r;
    }

    /** The next record, reset. */
    ThreadRecord next() {
        if (count == records.length) {
            records = Arrays.copyOf(records, count * 2);
        }
        ThreadRecord r = records[count];
        if (r == null) {
            r = new ThreadRecord();
            records[count] = r;
        }
        r.reset();
        count++;
        return r;
    }
}
