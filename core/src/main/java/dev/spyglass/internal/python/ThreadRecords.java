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
