package dev.spyglass.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.spyglass.Sampler;
import dev.spyglass.SamplingMode;
import dev.spyglass.SamplingSession;
import dev.spyglass.StackSample;
import dev.spyglass.testsupport.PythonInterpreter;
import dev.spyglass.testsupport.PythonInterpreters;

/**
 * Example: sample a Python program from a JUnit test and assert where its time goes. Here the program is a tiny
 * script; in a real project it would be the service or job under test.
 */
class WhereTimeGoesExampleTest {

    static final String PROGRAM = String.join("\n",
            "import time",
            "def parse(n):",
            "    return [str(i) for i in range(n)]",
            "def checksum(items):",
            "    total = 0",
            "    for _ in range(20):",
            "        for s in items:",
            "            total = (total * 31 + len(s)) % 1000003",
            "    return total",
            "deadline = time.time() + 2",
            "while time.time() < deadline:",
            "    checksum(parse(5000))",
            "");

    @TempDir
    Path dir;

    @Test
    void mostCpuTimeGoesToChecksumNotParse() throws Exception {
        PythonInterpreter py = PythonInterpreters.any(3, 11).orElseThrow().assumeAvailable();
        Path program = dir.resolve("job.py");
        Files.writeString(program, PROGRAM);

        Sampler sampler = Sampler.builder().interval(Duration.ofMillis(2)).mode(SamplingMode.CPU).build();
        List<StackSample> samples;
        try (SamplingSession session = sampler.launch(py.processBuilder(program.toString()))) {
            samples = session.stream().filter(s -> !s.frames().isEmpty()).toList();
        }

        // Where does the time go? Count the samples whose stack includes each function.
        long inChecksum = samples.stream().filter(s -> s.frames().stream()
                .anyMatch(f -> f.function().equals("checksum"))).count();
        long inParse = samples.stream().filter(s -> s.frames().stream()
                .anyMatch(f -> f.function().equals("parse"))).count();
        assertThat(samples).hasSizeGreaterThan(100);
        assertThat(inChecksum).as("samples in checksum of %d", samples.size()).isGreaterThan(samples.size() / 2);
        assertThat(inChecksum).isGreaterThan(5 * inParse);

        // The same samples through the example custom exporter.
        ByteArrayOutputStream csv = new ByteArrayOutputStream();
        try (TopFunctionsCsvExporter exporter = new TopFunctionsCsvExporter(csv, 3)) {
            samples.forEach(exporter::accept);
        }
        List<String> lines = csv.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.get(0)).isEqualTo("function,file,own_samples,total_samples,own_percent,total_percent");
        assertThat(lines.get(1)).startsWith("checksum," + program + ",");
        assertThat(lines).hasSizeBetween(2, 4);
    }
}
