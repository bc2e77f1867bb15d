package dev.spyglass.export;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.spyglass.internal.export.BuiltInExporterProvider;

/**
 * The export formats {@link ServiceLoader} finds: the built-in ones ({@code html}, {@code speedscope},
 * {@code pprof}, {@code collapsed}, {@code austin}, {@code mojo}, {@code jsonl}, {@code gecko}, {@code chrome},
 * {@code sgr}) and every {@link ExporterProvider} a user adds on the module path or the class path. Look a format up by name or by a file name's ending and create
 * an exporter with it:
 *
 * <pre>{@code
 * ExporterProvider pprof = ExportFormats.installed().byName("pprof").orElseThrow();
 * try (Exporter out = ExportFormats.create(pprof, Path.of("cpu.pb.gz"), ExportOptions.defaults())) {
 *     session.drainTo(out);
 * }
 * }</pre>
 *
 * A catalog is a snapshot taken when it is loaded. It lists the built-in formats first, in the order above,
 * then the others in the order {@link ServiceLoader} found them; when two providers claim one name (compared
 * case-insensitively) the earlier one wins and the later one is logged and left out.
 */
public final class ExportFormats {
    private static final Logger LOG = LoggerFactory.getLogger(ExportFormats.class);

    private final List<ExporterProvider> providers;

    private ExportFormats(List<? extends ExporterProvider> found) {
        List<ExporterProvider> ordered = new ArrayList<>();
        found.forEach(ordered::add);
        // Stable: keeps discovery order inside each group. On the class path of a merged (shaded) jar the
        // built-in providers may come after a user's, so the order is not left to discovery.
        ordered.sort(Comparator.comparingInt(p -> p instanceof BuiltInExporterProvider ? 0 : 1));
        Map<String, ExporterProvider> byName = new LinkedHashMap<>();
        for (ExporterProvider p : ordered) {
            String name = Objects.requireNonNull(p.formatName(), () -> p.getClass() + ".formatName()");
            ExporterProvider earlier = byName.putIfAbsent(name.toLowerCase(Locale.ROOT), p);
            // The same class twice is one provider seen through two loaders (a child delegates to its parent).
            if (earlier != null && earlier.getClass() != p.getClass()) {
                LOG.warn("export format '{}' of {} ignored: the name is taken by {}", name, p.getClass().getName(),
                        earlier.getClass().getName());
            }
        }
        this.providers = List.copyOf(byName.values());
    }

    /**
     * The formats visible to this thread's context class loader: providers in named modules of the boot layer
     * (and of layers that loader belongs to) and those declared in {@code META-INF/services} on the class path.
     */
    public static ExportFormats installed() {
        return new ExportFormats(instances(ServiceLoader.load(ExporterProvider.class)));
    }

    /** The formats {@code loader} can see (e.g. a class loader over a plug-in's jar), with the built-in ones. */
    public static ExportFormats load(ClassLoader loader) {
        return new ExportFormats(withBuiltIns(ServiceLoader.load(ExporterProvider.class, loader)));
    }

    /** The formats provided by modules in {@code layer} and its parents, with the built-in ones. */
    public static ExportFormats load(ModuleLayer layer) {
        return new ExportFormats(withBuiltIns(ServiceLoader.load(layer, ExporterProvider.class)));
    }

    /** A catalog of exactly these providers, for tests and programs that register formats themselves. */
    public static ExportFormats of(List<? extends ExporterProvider> providers) {
        return new ExportFormats(List.copyOf(providers));
    }

    /**
     * {@code found} and the built-in providers, which a foreign loader or layer may not see: those are looked up
     * through the loader of this class, so the built-in ones are listed in one place only (module-info and
     * {@code META-INF/services}).
     */
    private static List<ExporterProvider> withBuiltIns(ServiceLoader<ExporterProvider> found) {
        List<ExporterProvider> all = instances(found);
        instances(ServiceLoader.load(ExporterProvider.class, ExportFormats.class.getClassLoader())).stream()
                .filter(p -> p instanceof BuiltInExporterProvider).forEach(all::add);
        return all;
    }

    /**
     * Every provider that can be instantiated. A broken one (a services line naming a missing class, a
     * constructor that throws) is logged and skipped: one bad plug-in jar must not take every format away.
     */
    private static List<ExporterProvider> instances(ServiceLoader<ExporterProvider> loader) {
        List<ExporterProvider> found = new ArrayList<>();
        Iterator<ExporterProvider> it = loader.iterator();
        // ServiceLoader's iterator goes on to the next provider after an error; the bound only guards against
        // an iterator that keeps failing on the same entry.
        for (int errors = 0; errors < 100; ) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError e) {
                errors++;
                LOG.warn("an export format could not be loaded and is left out: {}", e.getMessage());
            }
        }
        return found;
    }

    /** Every format, built-in ones first. */
    public List<ExporterProvider> all() {
        return providers;
    }

    /** Every format's name, in the order of {@link #all()}. */
    public List<String> names() {
        return providers.stream().map(ExporterProvider::formatName).toList();
    }

    /** The format named {@code name} (case-insensitive), or empty. */
    public Optional<ExporterProvider> byName(String name) {
        Objects.requireNonNull(name, "name");
        return providers.stream().filter(p -> p.formatName().equalsIgnoreCase(name)).findFirst();
    }

    /**
     * The format a file name's ending selects (case-insensitive; the longest matching ending wins, so
     * {@code x.speedscope.json} and {@code x.json} are both speedscope; on a tie, the earlier format), or empty
     * when no format claims it.
     */
    public Optional<ExporterProvider> forFileName(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        ExporterProvider best = null;
        int bestLength = 0;
        for (ExporterProvider p : providers) {
            for (String extension : p.fileExtensions()) {
                if (extension.length() > bestLength && lower.endsWith(extension.toLowerCase(Locale.ROOT))) {
                    best = p;
                    bestLength = extension.length();
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * An exporter of {@code format} writing to the file {@code path} (created or truncated now, buffered),
     * which the exporter closes.
     */
    public static Exporter create(ExporterProvider format, Path path, ExportOptions options) throws IOException {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
        try {
            return format.create(out, options);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "ExportFormats" + names();
    }
}
