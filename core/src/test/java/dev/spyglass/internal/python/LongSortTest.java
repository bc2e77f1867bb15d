package dev.spyglass.internal.python;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class LongSortTest {
    @Test
    void heapSortSortsLikeArraysSort() {
        Random rnd = new Random(7);
        for (int n = 0; n < 300; n += 7) {
            long[] a = rnd.longs(n, 0, 1L << 40).toArray();
            long[] b = a.clone();
            Arrays.sort(b);
            LongSort.heapSort(a, n);
            assertThat(a).containsExactly(b);
        }
    }
}
