package dev.spyglass.export;

import java.io.OutputStream;
import java.util.List;

/**
 * A file format an {@link Exporter} writes, found through {@link java.util.ServiceLoader}: the built-in
 * formats and any a user adds. {@link ExportFormats} looks providers up by name and by file name ending, and
 * the {@code spyglass record} command line takes {@code -f NAME} and {@code -o FILE.EXT} from them.
 *
 * <p>To add a format, implement this interface in a public class with a public no-argument constructor and
 * declare it as a service:
 * <ul>
 * <li>on the module path: {@code provides dev.spyglass.export.ExporterProvider with com.example.MyProvider;}
 * in your {@code module-info.java};</li>
 * <li>on the class path: a line {@code com.example.MyProvider} in the jar's
 * {@code META-INF/services/dev.spyglass.export.ExporterProvider}.</li>
 * </ul>
 * Implementations must be stateless and thread-safe: one instance may create many exporters.
 */
public interface ExporterProvider {

    /**
     * The format's name, as given to {@code -f} and returned by the created exporter's
     * {@link Exporter#formatName()}: short, lower case, no blanks, e.g. {@code collapsed}. Names are matched
     * case-insensitively; when two providers claim one name the built-in one (else the first found) wins.
     */
    String formatName();

    /**
     * File name endings that select this format, with their dot and most specific first (e.g.
     * {@code .speedscope.json} before {@code .json}); the first one names default output files. May be empty:
     * the format is then chosen by name only.
     */
    List<String> fileExtensions();

    /** One line for help texts and listings, e.g. {@code speedscope's JSON file format}. */
    String description();

    /**
     * A new exporter writing to {@code out}, which it owns: it closes {@code out} in {@link Exporter#close()}.
     *
     * @param out     where the profile goes
     * @param options the recording's metadata and the shared and format-specific options; options an exporter
     *                does not use are ignored
     * @throws IllegalArgumentException when a format-specific {@link ExportOptions#property property} has a
     *                                  value this format does not accept
     */
    Exporter create(OutputStream out, ExportOptions options);
}
