package dev.spyglass.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Writes every test's outcome with its display name (which carries the interpreter label of
 * parameterised tests) and every skip reason to {@code target/test-outcomes.txt}, so that
 * {@code ./spyglass test} can print which interpreters were skipped and why.
 */
public final class TestOutcomeLog implements TestExecutionListener {
    private final List<String> lines = new ArrayList<>();
    @Override
    public synchronized void executionSkipped(TestIdentifier id, String reason) {
        lines.add("SKIPPED " + name(id) + " -- " + reason);
    }

    @Override
    public synchronized void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (id.isTest()) {
            String why = result.getThrowable().map(t -> " -- " + String.valueOf(t.getMessage()).lines().findFirst()
                    .orElse("")).orElse("");
            String status = switch (result.getStatus()) {
                case SUCCESSFUL -> "PASSED ";
                case ABORTED -> "SKIPPED";
                case FAILED -> "FAILED ";
            };
            lines.add(status + " " + name(id) + (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL ? "" : why));
        }
    }

    @Override
    public synchronized void testPlanExecutionFinished(TestPlan testPlan) {
        Path target = Path.of("target");
        if (!Files.isDirectory(target) || lines.isEmpty()) {
            return;
        }
        try {
            Files.write(target.resolve("test-outcomes.txt"), lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            // Reporting only: never fail a test run because the summary could not be written.
        }
        lines.clear();
    }

    private static String name(TestIdentifier id) {
        return id.getSource()
                .filter(MethodSource.class::isInstance)
                .map(MethodSource.class::cast)
                .map(m -> {
                    String cls = m.getClassName().substring(m.getClassName().lastIndexOf('.') + 1);
                    String test = cls + "." + m.getMethodName();
                    return id.getDisplayName().startsWith(m.getMethodName()) ? test : test + " [" + id.getDisplayName() + "]";
                })
                .orElse(id.getDisplayName());
    }
}
