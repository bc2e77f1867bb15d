/** The {@code spyglass} command line and small programs that show the library API. */
module dev.spyglass.examples {
    requires dev.spyglass;
    requires info.picocli;
    requires org.slf4j;

    opens dev.spyglass.examples to info.picocli;

    // The example of a user's export format: found by name (-f top-csv) like the built-in ones. Class-path
    // runs (the CLI jar) read the same from META-INF/services.
    provides dev.spyglass.export.ExporterProvider with dev.spyglass.examples.TopFunctionsCsvExporterProvider;
}
