package dev.spyglass.internal.export;

import static dev.spyglass.internal.export.SyntheticProfile.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.spyglass.Frame;
import dev.spyglass.StackSample;
import dev.spyglass.ThreadStack;
import dev.spyglass.ThreadState;
import org.junit.jupiter.api.Test;

class AustinExporterTest {

    private static AustinFormat.Profile export(AustinExporter.Builder b) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        feed(b.build(out));
        return AustinFormat.parse(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void writesHeaderEverySampleAndFooter() throws Exception {
        AustinFormat.Profile p = export(AustinExporter.builder().metadata(METADATA));

        assertThat(p.header()).containsEntry("austin", "3.6.0").containsEntry("interval", "1000")
                .containsEntry("mode", "wall").containsEntry("python", "3.11.7").containsKey("spyglass");
        assertThat(p.footer()).containsEntry("duration", "150000").containsEntry("samples", Integer.toString(ALL))
                .containsEntry("errors", "5/" + (ALL + 5));
        assertThat(p.samples()).hasSize(ALL);
        assertThat(p.samples()).allSatisfy(s -> {
            assertThat(s.pid()).isEqualTo(PID);
            assertThat(s.iid()).isZero();
            assertThat(s.metric()).isEqualTo(WEIGHT / 1000);
        });
        assertThat(p.samples().get(0).tid()).isEqualTo(MAIN_TID);
        assertThat(p.samples().get(0).rootFirst()).containsExactly(
                new AustinFormat.Frame("/app/x.py", "<module>", 30), new AustinFormat.Frame("/app/x.py", "main", 20),
                new AustinFormat.Frame("/app/x.py", "Outer.leaf", 9));
        assertThat(p.samples()).filteredOn(s -> s.rootFirst().isEmpty()).hasSize(EMPTY_N);
        assertThat(p.samples()).filteredOn(s -> s.rootFirst().size() == 2
                && s.rootFirst().get(1).function().equals("Condition.wait")).hasSize(IDLE_N);
        assertThat(p.samples()).filteredOn(s -> s.rootFirst().size() == 2
                && s.rootFirst().get(1).equals(new AustinFormat.Frame("/app/tëst_ü.py", "naïve_ß", 2))).hasSize(SPIN_N);
    }

    @Test
    void sanitisesSeparatorsInNames() throws Exception {
        AustinFormat.Profile p = export(AustinExporter.builder());

        List<AustinFormat.Frame> odd = p.samples().stream().map(s -> s.rootFirst())
                .filter(f -> f.size() == 3 && f.get(2).line() == 7).findFirst().orElseThrow();
        assertThat(odd.get(2)).isEqualTo(new AustinFormat.Frame("/app/we_ird path.py",
                "odd_name_with \"quotes\"_</script><b>", 7));
    }

    @Test
    void withoutMetadataStillWritesTheModeReadersRequire() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AustinExporter.builder().build(out).close();
        AustinFormat.Profile p = AustinFormat.parse(out.toString(StandardCharsets.UTF_8));

        assertThat(p.header()).containsEntry("mode", "wall").doesNotContainKey("interval");
        assertThat(p.samples()).isEmpty();
        assertThat(p.footer()).isEmpty();
    }

    /** A target's names are its data: an ESC must not reach the terminal that shows the file (issue 10). */
    @Test
    void controlCharactersInNamesAreEscapedVisibly() throws Exception {
        Frame bad = Frame.python("bad", "bad\u001b[31mname\u0000\u007f\t\u009b", "/app/e\\x1b\u001b.py", 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (AustinExporter e = AustinExporter.builder().build(out)) {
            e.accept(new StackSample(new ThreadStack(PID, MAIN_TID, 1, "MainThread", 0, ThreadState.RUNNING,
                    true, List.of(bad)), T0, WEIGHT));
        }
        String text = out.toString(StandardCharsets.UTF_8);

        assertThat(text).contains("P1234;T0:1240;/app/e\\\\x1b\\x1b.py:bad\\x1b[31mname\\x00\\x7f\\x09\\x9b:3 1000\n");
        assertThat(text.chars().filter(c -> c < 0x20 && c != '\n' || c >= 0x7f && c <= 0x9f)).isEmpty();
        assertThat(AustinFormat.parse(text).samples().get(0).rootFirst()).containsExactly(
                new AustinFormat.Frame("/app/e\\\\x1b\\x1b.py", "bad\\x1b[31mname\\x00\\x7f\\x09\\x9b", 3));
    }
}
