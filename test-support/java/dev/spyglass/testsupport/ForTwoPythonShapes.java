package dev.spyglass.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * As {@link ForEachPython}, on the two interpreters of {@link PythonInterpreters#twoShapes()} only: for tests whose
 * subject does not change with the CPython version (the interpreter only hosts it), so the suite does not pay for
 * every version.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0}")
@MethodSource("dev.spyglass.testsupport.PythonInterpreters#twoShapes")
public @interface ForTwoPythonShapes {
}
