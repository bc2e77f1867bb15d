/**
 * Spyglass: attach to a CPython process, read its threads' stacks from outside and deliver
 * {@link dev.spyglass.StackSample}s. Only {@code dev.spyglass} and {@code dev.spyglass.export} are API.
 *
 * <p>Export formats are services: {@link dev.spyglass.export.ExportFormats} finds every
 * {@link dev.spyglass.export.ExporterProvider}, the built-in ones below and any a user's module provides. The
 * same ones are listed in {@code META-INF/services} for class-path users; keep both lists in this order.
 */
module dev.spyglass {
    requires dev.spyglass.cpython.abi;
    requires dev.spyglass.elf;
    requires org.slf4j;
    // PushSink sends profiles to an OTLP or Pyroscope receiver with the JDK's HTTP client.
    requires java.net.http;

    exports dev.spyglass;
    exports dev.spyglass.export;

    uses dev.spyglass.export.ExporterProvider;

    provides dev.spyglass.export.ExporterProvider with
            dev.spyglass.internal.export.HtmlFlameGraphExporterProvider,
            dev.spyglass.internal.export.SpeedscopeExporterProvider,
            dev.spyglass.internal.export.PprofExporterProvider,
            dev.spyglass.internal.export.CollapsedExporterProvider,
            dev.spyglass.internal.export.AustinExporterProvider,
            dev.spyglass.internal.export.MojoExporterProvider,
            dev.spyglass.internal.export.JsonLinesExporterProvider,
            dev.spyglass.internal.export.GeckoProfileExporterProvider,
            dev.spyglass.internal.export.ChromeTraceExporterProvider,
            dev.spyglass.internal.export.CompactRecordingExporterProvider;
}
