package dev.spyglass.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs the annotated test once per interpreter {@link PythonInterpreters} finds or expects, with the
 * interpreter's label and version in the test name. The test method takes one
 * {@link PythonInterpreter} parameter and should begin with {@link PythonInterpreter#assumeAvailable()}.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@MethodSource("dev.spyglass.testsupport.PythonInterpreters#all")
public @interface ForEachPython {
}
