package dev.spyglass.elf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GNU {@code readelf} as an independent oracle: runs it on a file and parses {@code -W -S},
 * {@code -W -s} and {@code -n}.
 */
final class Readelf {

    record SectionRow(int index, String name, String type, long address, long offset, long size, long entrySize,
            String flags, int link, int info, long alignment) {
    }

    /** One symbol row; {@code name} without the {@code @VERSION} / {@code @@VERSION} suffix. */
    record SymbolRow(int index, long value, long size, String type, String bind, String ndx, String rawName, String name,
            boolean defaultVersion) {
    }

    private static final Pattern SECTION = Pattern.compile(
            "^\\s*\\[\\s*(\\d+)]\\s(.{17,}?)\\s+([A-Z][A-Z0-9_+x]*(?: [A-Z]+)?)\\s+([0-9a-f]{16})\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s(.{3,}?)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$");
    private static final Pattern SYMTAB_HEADER = Pattern.compile("^Symbol table '([^']+)' contains (\\d+) entr(?:y|ies):");
    private static final Pattern SYMBOL = Pattern.compile(
            "^\\s*(\\d+):\\s+([0-9a-f]+)\\s+(0x[0-9a-f]+|\\d+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(?:\\[[^]]*]\\s+)?(\\S+)(?: (.*))?$");
    private static final Pattern BUILD_ID = Pattern.compile("^\\s*Build ID: ([0-9a-f]+)\\s*$");

    private Readelf() {
    }

    static String run(Path file, String... options) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("readelf");
        cmd.addAll(List.of(options));
        cmd.add(file.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("readelf timed out on " + file);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    static List<SectionRow> sections(Path file) throws IOException, InterruptedException {
        List<SectionRow> rows = new ArrayList<>();
        for (String line : run(file, "-W", "-S").split("\n")) {
            if (!line.trim().startsWith("[") || line.contains("[Nr]")) {
                continue;
            }
            Matcher m = SECTION.matcher(line);
            if (!m.matches()) {
                throw new IllegalStateException("cannot parse readelf section line: " + line);
            }
            rows.add(new SectionRow(Integer.parseInt(m.group(1)), m.group(2).strip(), m.group(3), Long.parseUnsignedLong(m.group(4), 16),
                    Long.parseUnsignedLong(m.group(5), 16), Long.parseUnsignedLong(m.group(6), 16), Long.parseUnsignedLong(m.group(7), 16),
                    m.group(8).strip(), Integer.parseInt(m.group(9)), Integer.parseInt(m.group(10)), Long.parseLong(m.group(11))));
        }
        return rows;
    }

    /** Symbol tables by name ({@code .dynsym}, {@code .symtab}), rows in table order including entry 0. */
    static Map<String, List<SymbolRow>> symbols(Path file) throws IOException, InterruptedException {
        Map<String, List<SymbolRow>> tables = new LinkedHashMap<>();
        List<SymbolRow> current = null;
        for (String line : run(file, "-W", "-s").split("\n")) {
            Matcher h = SYMTAB_HEADER.matcher(line);
            if (h.find()) {
                current = new ArrayList<>();
                tables.put(h.group(1), current);
                continue;
            }
            if (current == null || !line.matches("^\\s*\\d+:.*")) {
                continue;
            }
            Matcher m = SYMBOL.matcher(line);
            if (!m.matches()) {
                throw new IllegalStateException("cannot parse readelf symbol line: " + line);
            }
            String raw = m.group(8) == null ? "" : m.group(8);
            String name = raw.replaceFirst(" \\(\\d+\\)$", "");
            int at = name.indexOf('@');
            boolean defaultVersion = at < 0 || name.startsWith("@@", at);
            String size = m.group(3);
            current.add(new SymbolRow(Integer.parseInt(m.group(1)), Long.parseUnsignedLong(m.group(2), 16),
                    size.startsWith("0x") ? Long.parseUnsignedLong(size.substring(2), 16) : Long.parseLong(size), m.group(4), m.group(5),
                    m.group(7), raw, at < 0 ? name : name.substring(0, at), defaultVersion));
        }
        return tables;
    }

    static Optional<String> buildId(Path file) throws IOException, InterruptedException {
        for (String line : run(file, "-n").split("\n")) {
            Matcher m = BUILD_ID.matcher(line);
            if (m.matches()) {
                return Optional.of(m.group(1));
            }
        }
        return Optional.empty();
    }

    static int sectionType(String name) {
        return switch (name) {
            case "NULL" -> 0;
            case "PROGBITS" -> 1;
            case "SYMTAB" -> 2;
            case "STRTAB" -> 3;
            case "RELA" -> 4;
            case "HASH" -> 5;
            case "DYNAMIC" -> 6;
            case "NOTE" -> 7;
            case "NOBITS" -> 8;
            case "REL" -> 9;
            case "DYNSYM" -> 11;
            case "INIT_ARRAY" -> 14;
            case "FINI_ARRAY" -> 15;
            case "PREINIT_ARRAY" -> 16;
            case "GROUP" -> 17;
            case "SYMTAB SECTION INDICES", "SYMTAB_SHNDX" -> 18;
            case "RELR" -> 19;
            case "GNU_HASH" -> 0x6ffffff6;
            case "VERDEF" -> 0x6ffffffd;
            case "VERNEED" -> 0x6ffffffe;
            case "VERSYM" -> 0x6fffffff;
            case "X86_64_UNWIND" -> 0x70000001;
            default -> throw new IllegalArgumentException("readelf section type not mapped in the test: " + name);
        };
    }

    /** readelf's flag letters for {@code sh_flags}, in its order. */
    static String flags(long f, int osAbi) {
        // readelf names SHF_GNU_RETAIN only for the GNU and FreeBSD OS ABIs, otherwise it is an unknown 'o' bit
        long retain = osAbi == 3 || osAbi == 9 ? 0x200000L : 0;
        StringBuilder sb = new StringBuilder();
        String letters = "WAXxMSILOGTC";
        long[] bits = {0x1, 0x2, 0x4, 0, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800};
        for (int i = 0; i < bits.length; i++) {
            if (bits[i] != 0 && (f & bits[i]) != 0) {
                sb.append(letters.charAt(i));
            }
        }
        if ((f & retain) != 0) {
            sb.append('R'); // SHF_GNU_RETAIN
        }
        if ((f & 0x80000000L) != 0) {
            sb.append('E');
        }
        if ((f & 0x0ff00000L & ~retain) != 0) {
            sb.append('o');
        }
        if ((f & 0x70000000L) != 0) {
            sb.append('p');
        }
        return sb.toString();
    }

    static int symbolType(String name) {
        return switch (name) {
            case "NOTYPE" -> 0;
            case "OBJECT" -> 1;
            case "FUNC" -> 2;
            case "SECTION" -> 3;
            case "FILE" -> 4;
            case "COMMON" -> 5;
            case "TLS" -> 6;
            case "IFUNC" -> 10;
            default -> throw new IllegalArgumentException("readelf symbol type not mapped in the test: " + name);
        };
    }

    static int binding(String name) {
        return switch (name) {
            case "LOCAL" -> 0;
            case "GLOBAL" -> 1;
            case "WEAK" -> 2;
            case "UNIQUE" -> 10;
            default -> throw new IllegalArgumentException("readelf binding not mapped in the test: " + name);
        };
    }

    static int sectionIndex(String ndx) {
        return switch (ndx) {
            case "UND" -> 0;
            case "ABS" -> 0xfff1;
            case "COM" -> 0xfff2;
            default -> Integer.parseInt(ndx);
        };
    }
}
