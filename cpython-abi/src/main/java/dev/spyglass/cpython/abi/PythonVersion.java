package dev.spyglass.cpython.abi;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A CPython version: {@code 3.12.1}, {@code 3.14.0rc2}, {@code 3.13.0t} (free-threaded).
 *
 * @param major        major version (2 or 3)
 * @param minor        minor version, 0 or more
 * @param micro        micro (patch) version, or -1 when not known (e.g. taken from a file name)
 * @param releaseLevel alpha, beta, candidate or final
 * @param serial       release serial (the {@code 2} of {@code rc2}); 0 for final releases
 * @param freeThreaded true for a free-threaded ({@code Py_GIL_DISABLED}) build
 */
public record PythonVersion(int major, int minor, int micro, ReleaseLevel releaseLevel, int serial,
        boolean freeThreaded) implements Comparable<PythonVersion> {

    /** The release level, as in {@code sys.version_info.releaselevel}. */
    public enum ReleaseLevel {
        ALPHA("a"), BETA("b"), CANDIDATE("rc"), FINAL("");

        private final String suffix;

        ReleaseLevel(String suffix) {
            this.suffix = suffix;
        }

        /** The suffix used in version strings: {@code a}, {@code b}, {@code rc}, or empty. */
        public String suffix() {
            return suffix;
        }
    }

    private static final Pattern VERSION_TEXT = Pattern.compile(
            "(?<![0-9.])([23])\\.([0-9]{1,2})\\.([0-9]{1,2})(?:(a|b|rc)([0-9]{1,2}))?(\\+)?(t)?(?![0-9])");
    private static final Pattern FILE_NAME = Pattern.compile("python([23])\\.([0-9]{1,2})(t?)");

    public PythonVersion {
        Objects.requireNonNull(releaseLevel, "releaseLevel");
        if (major < 0 || minor < 0 || micro < -1 || serial < 0) {
            throw new IllegalArgumentException("negative version component: " + major + "." + minor + "." + micro);
        }
    }

    /** A final release, not free-threaded. */
    public static PythonVersion of(int major, int minor, int micro) {
        return new PythonVersion(major, minor, micro, ReleaseLevel.FINAL, 0, false);
    }

    /**
     * Decodes the packed {@code PY_VERSION_HEX} layout ({@code Py_Version}, exported since 3.11;
     * {@code sys.hexversion}): {@code 0xMMmmuuLS} with L = 0xA alpha, 0xB beta, 0xC candidate, 0xF final.
     *
     * @param hex          the packed value (read as an unsigned 32-bit integer)
     * @param freeThreaded whether the build is free-threaded (not part of the packed value)
     * @throws IllegalArgumentException when the release-level nibble is not one of A, B, C, F or the
     *                                  major version is not 2 or 3
     */
    public static PythonVersion fromHex(long hex, boolean freeThreaded) {
        int major = (int) ((hex >>> 24) & 0xff);
        int minor = (int) ((hex >>> 16) & 0xff);
        int micro = (int) ((hex >>> 8) & 0xff);
        int level = (int) ((hex >>> 4) & 0xf);
        int serial = (int) (hex & 0xf);
        ReleaseLevel rl = switch (level) {
            case 0xA -> ReleaseLevel.ALPHA;
            case 0xB -> ReleaseLevel.BETA;
            case 0xC -> ReleaseLevel.CANDIDATE;
            case 0xF -> ReleaseLevel.FINAL;
            default -> throw new IllegalArgumentException("not a Python version hex: 0x" + Long.toHexString(hex));
        };
        if (major != 2 && major != 3) {
            throw new IllegalArgumentException("not a Python version hex: 0x" + Long.toHexString(hex));
        }
        return new PythonVersion(major, minor, micro, rl, serial, freeThreaded);
    }

    /**
     * Finds the first version in a text such as {@code sys.version} ({@code "3.6.15 (default, ...)"}),
     * {@code "3.14.0rc2"}, or {@code "3.13.0t"}.
     */
    public static Optional<PythonVersion> parse(CharSequence text) {
        Matcher m = VERSION_TEXT.matcher(text);
        if (!m.find()) {
            return Optional.empty();
        }
        ReleaseLevel rl = ReleaseLevel.FINAL;
        int serial = 0;
        if (m.group(4) != null) {
            rl = switch (m.group(4)) {
                case "a" -> ReleaseLevel.ALPHA;
                case "b" -> ReleaseLevel.BETA;
                default -> ReleaseLevel.CANDIDATE;
            };
            serial = Integer.parseInt(m.group(5));
        }
        return Optional.of(new PythonVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                Integer.parseInt(m.group(3)), rl, serial, m.group(7) != null));
    }

    /**
     * Takes major and minor from a file name such as {@code libpython3.12.so.1.0},
     * {@code python3.13t} or {@code libpython2.7.so}; the micro version is unknown (-1).
     */
    public static Optional<PythonVersion> fromFileName(String fileName) {
        Matcher m = FILE_NAME.matcher(fileName);
        if (!m.find()) {
            return Optional.empty();
        }
        return Optional.of(new PythonVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), -1,
                ReleaseLevel.FINAL, 0, !m.group(3).isEmpty()));
    }

    /** {@code true} when this version is {@code major.minor} or later. */
    public boolean isAtLeast(int major, int minor) {
        return this.major > major || (this.major == major && this.minor >= minor);
    }

    /** {@code true} when this version's major and minor are exactly these. */
    public boolean is(int major, int minor) {
        return this.major == major && this.minor == minor;
    }

    /** The packed {@code PY_VERSION_HEX} of this version (micro -1 packs as 0). */
    public long hex() {
        int level = switch (releaseLevel) {
            case ALPHA -> 0xA;
            case BETA -> 0xB;
            case CANDIDATE -> 0xC;
            case FINAL -> 0xF;
        };
        return ((long) major << 24) | ((long) minor << 16) | ((long) Math.max(micro, 0) << 8) | (level << 4) | serial;
    }

    @Override
    public int compareTo(PythonVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        if (c == 0) {
            c = Integer.compare(micro, o.micro);
        }
        if (c == 0) {
            c = releaseLevel.compareTo(o.releaseLevel);
        }
        if (c == 0) {
            c = Integer.compare(serial, o.serial);
        }
        return c;
    }

    /** {@code 3.12.1}, {@code 3.14.0rc2}, {@code 3.13.0t}, {@code 3.12} when the micro is unknown. */
    @Override
    public String toString() {
        String s = major + "." + minor + (micro >= 0 ? "." + micro : "");
        if (releaseLevel != ReleaseLevel.FINAL) {
            s += releaseLevel.suffix() + serial;
        }
        return freeThreaded ? s + "t" : s;
    }
}
