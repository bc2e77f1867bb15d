package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

class LongMapTest {
    @Test
    void behavesLikeAHashMapThroughGrowth() {
        LongMap<String> m = new LongMap<>(4);
        Map<Long, String> ref = new HashMap<>();
        Random rnd = new Random(3);
        for (int i = 0; i < 5000; i++) {
            long k = 1 + rnd.nextLong(1 << 20) * 8;
            m.put(k, "v" + i);
            ref.put(k, "v" + i);
        }
        assertThat(m.size()).isEqualTo(ref.size());
        ref.forEach((k, v) -> assertThat(m.get(k)).isEqualTo(v));
        assertThat(m.get(3)).isNull();
        m.clear();
        assertThat(m.size()).isZero();
        assertThat(m.get(ref.keySet().iterator().next())).isNull();
        assertThatThrownBy(() -> m.put(0, "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
