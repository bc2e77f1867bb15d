/** The {@code spyglass} command line and small programs that show the library API. */
module dev.spyglass.examples {
    requires dev.spyglass;
    requires info.picocli;
    requires org.slf4j;

    opens dev.spyglass.examples to info.picocli;
}
