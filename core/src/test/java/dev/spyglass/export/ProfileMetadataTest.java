package dev.spyglass.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

class ProfileMetadataTest {

    @Test
    void metadataComputesTheTornRateAndQuotesTheCommand() {
        ProfileMetadata m = ProfileMetadata.builder().command(List.of("python3", "my script.py", "it's", ""))
                .samples(995).tornSamples(5).interval(Duration.ofMillis(1)).build();
        assertThat(m.tornRate()).isEqualTo(0.005);
        assertThat(m.commandLine()).isEqualTo("python3 'my script.py' 'it'\\''s' ''");
        assertThat(ProfileMetadata.UNKNOWN.tornRate()).isNaN();
        assertThat(ProfileMetadata.UNKNOWN.commandLine()).isEmpty();
        assertThat(m.toBuilder().build()).isEqualTo(m);
        assertThat(ProfileMetadata.UNKNOWN.container()).isEmpty();
        ProfileMetadata inContainer = m.toBuilder().container("cdbcfc838834").build();
        assertThat(inContainer.container()).isEqualTo("cdbcfc838834");
        assertThat(inContainer.toBuilder().build()).isEqualTo(inContainer);
    }
}
