package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void readsUnitsAndBareNumbersInTheDefaultUnit() {
        assertThat(Durations.parse("100us", "us")).isEqualTo(Duration.ofNanos(100_000));
        assertThat(Durations.parse("1ms", "us")).isEqualTo(Duration.ofMillis(1));
        assertThat(Durations.parse("0.5s", "us")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("2m", "s")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("250", "us")).isEqualTo(Duration.ofNanos(250_000));
        assertThat(Durations.parse("10", "s")).isEqualTo(Duration.ofSeconds(10));
        assertThat(Durations.parse(" 1.5 ms ", "us")).isEqualTo(Duration.ofNanos(1_500_000));
    }

    @Test
    void rejectsWhatIsNotADuration() {
        assertThatThrownBy(() -> Durations.parse("fast", "us")).hasMessageContaining("'fast' is not a duration");
        assertThatThrownBy(() -> Durations.parse("-1ms", "us")).hasMessageContaining("not a duration");
        assertThatThrownBy(() -> Durations.parse("0", "s")).hasMessageContaining("more than zero");
        assertThatThrownBy(() -> Durations.parse("3 weeks", "s")).hasMessageContaining("not a duration");
        // 5,124,096 h is past the 2^63 ns a Duration.toNanos can hold: rejected, not wrapped around.
        assertThatThrownBy(() -> Durations.parse("5124096h", "s")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too long");
    }

    @Test
    void namesTheOptionWhenGivenOne() {
        assertThatThrownBy(() -> Durations.parse("--interval", "0", "us"))
                .hasMessage("--interval must be more than zero (got 0)");
        assertThatThrownBy(() -> Durations.parse("--duration", "fast", "s"))
                .hasMessage("--duration: 'fast' is not a duration (examples: 100us, 1ms, 0.5s, 2m)");
        assertThatThrownBy(() -> Durations.parse("--duration", "5124096h", "s"))
                .hasMessageStartingWith("--duration is too long");
    }
}
