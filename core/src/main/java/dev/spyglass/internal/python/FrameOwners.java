package dev.spyglass.internal.python;

import java.util.Arrays;

/**
 * CPython 2.7 – 3.10: which thread's walk of one look took each frame object, for {@link LinkedFrameWalker}.
 *
 * <p>Frame objects are reused across threads: a code object keeps its last frame as a "zombie" for its next call
 * ({@code co_zombieframe}, 2.7 – 3.10), and freed frames go to a free list. A thread's walk reads its thread state's
 * {@code frame}, then each frame in turn; when the thread returns meanwhile and another thread calls the same
 * function, the frame read next is that other thread's, and its {@code f_back} leads down the other thread's stack.
 * Every check a walk makes passes: the frames are live and well formed. Seen on 3.9 with two threads calling one
 * function through ctypes: 3 of 158,000 stacks showed the other thread's root function (10 kHz, quiet machine), and
 * the leak tracker gave the keeper's 896 KiB of mappings to the churner's stack in 2 of 6 runs under four CPU hogs.
 *
 * <p>A frame object runs on one thread at a time, so one look's walks must not end at the same outermost frame (a walk
 * that crossed ends at the other thread's): when two do, both are torn, and the second is read again at once
 * ({@link StackReader}'s retry). A stack taken over unwalked (its thread had not run since the previous look) claims
 * the outermost frame of its last walk, and is never the one torn. The previous look's table is kept too: a walk that
 * ends at another thread's outermost frame of that look crossed, even when the two threads swapped frames and each
 * walk ends at the other's (5 of 57,520 stacks on 2.7 in CI). Not covered: a walk whose crossed chain changed again
 * before it reached the other thread's outermost frame, and a thread torn at both looks. Cleared per look without
 * allocation.
 */
final class FrameOwners {
    private long[] keys = new long[256];
    private ThreadRecord[] owners = new ThreadRecord[256];
    /** The owner's thread-state address: a record may hold another thread at the next look, an address does not. */
    private long[] tstates = new long[256];
    /** The slots filled this look (one per thread): a look clears those, not the whole table. */
    private int[] used = new int[64];
    private int size;

    void clear() {
        for (int k = 0; k < size; k++) {
            keys[used[k]] = 0;
            owners[used[k]] = null;
            tstates[used[k]] = 0;
        }
        size = 0;
    }

    /** The record whose walk took {@code frame} this look, or null. */
    ThreadRecord owner(long frame) {
        int i = find(frame);
        return i < 0 ? null : owners[i];
    }

    /** The thread-state address of the thread whose walk took {@code frame}, or 0. */
    long ownerThreadState(long frame) {
        int i = find(frame);
        return i < 0 ? 0 : tstates[i];
    }

    private int find(long frame) {
        int mask = keys.length - 1;
        for (int i = slot(frame, mask); keys[i] != 0; i = (i + 1) & mask) {
            if (keys[i] == frame) {
                return i;
            }
        }
        return -1;
    }

    /** Records that {@code owner}'s walk took {@code frame} (not 0), replacing an earlier owner. */
    void put(long frame, ThreadRecord owner) {
        put(frame, owner, owner.tstate);
    }

    private void put(long frame, ThreadRecord owner, long tstate) {
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        int i = slot(frame, mask);
        while (keys[i] != 0 && keys[i] != frame) {
            i = (i + 1) & mask;
        }
        if (keys[i] == 0) {
            keys[i] = frame;
            if (size == used.length) {
                used = Arrays.copyOf(used, size * 2);
            }
            used[size++] = i;
        }
        owners[i] = owner;
        tstates[i] = tstate;
    }

    private void grow() {
        long[] oldKeys = keys;
        ThreadRecord[] oldOwners = owners;
        long[] oldTstates = tstates;
        keys = new long[oldKeys.length * 2];
        owners = new ThreadRecord[keys.length];
        tstates = new long[keys.length];
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0) {
                put(oldKeys[i], oldOwners[i], oldTstates[i]);
            }
        }
    }

    private static int slot(long v, int mask) {
        return VisitedSet.slot(v, mask);
    }
}
