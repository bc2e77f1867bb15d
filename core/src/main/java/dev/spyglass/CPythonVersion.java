package dev.spyglass;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CPython version of a target, as {@link PythonProcess#version()} and
 * {@link SamplingSession#version()} report it: {@code 3.12.1}, {@code 3.14.0rc2}, {@code 3.13.0t}
 * (free-threaded), or {@code 3.12} when the micro version could not be read.
 *
 * <p>Ordered by major, minor, micro, release level and serial; the free-threaded flag does not take
 * part in the order (3.13.0 and 3.13.0t compare as equal, though they are not {@link #equals}).
 *
 * @param major        the major version, 2 or 3
 * @param minor        the minor version, 0 or more
 * @param micro        the micro (patch) version, 0 or more; -1 when unknown (the target exposed no
 *                     version string and only its file name told major and minor)
 * @param releaseLevel alpha, beta, release candidate or final, as {@code sys.version_info.releaselevel}
 * @param serial       the release serial, 0 or more (the {@code 2} of {@code rc2}); 0 for final releases
 * @param freeThreaded {@code true} for a free-threaded build ({@code Py_GIL_DISABLED}, 3.13+), which has
 *                     no GIL
 */
public record CPythonVersion(int major, int minor, int micro, ReleaseLevel releaseLevel, int serial,
        boolean freeThreaded) implements Comparable<CPythonVersion> {

    /** The release level of a version, in release order. */
    public enum ReleaseLevel {
        /** An alpha release, {@code a} in version strings. */
        ALPHA("a"),
        /** A beta release, {@code b}. */
        BETA("b"),
        /** A release candidate, {@code rc}. */
        CANDIDATE("rc"),
        /** A final release: no suffix. */
        FINAL("");

        private final String suffix;

        ReleaseLevel(String suffix) {
            this.suffix = suffix;
        }

        /** The suffix in version strings: {@code a}, {@code b}, {@code rc}, or empty for {@link #FINAL}. */
        public String suffix() {
            return suffix;
        }
    }

    private static final Pattern TEXT = Pattern.compile("([0-9]+)\\.([0-9]+)(?:\\.([0-9]+))?(?:(a|b|rc)([0-9]+))?(t)?");

    /** @throws IllegalArgumentException a negative component (other than micro -1) */
    public CPythonVersion {
        Objects.requireNonNull(releaseLevel, "releaseLevel");
        if (major < 0 || minor < 0 || micro < -1 || serial < 0) {
            throw new IllegalArgumentException("negative version component: " + major + "." + minor + "." + micro
                    + " serial " + serial);
        }
    }

    /** A final release with a GIL, e.g. {@code of(3, 12, 1)} for {@code 3.12.1}. */
    public static CPythonVersion of(int major, int minor, int micro) {
        return new CPythonVersion(major, minor, micro, ReleaseLevel.FINAL, 0, false);
    }

    /**
     * Reads a version as {@link #toString()} prints it: {@code 3.12.1}, {@code 3.14.0rc2},
     * {@code 3.13.0t}, {@code 3.12} (micro unknown, -1) or {@code 3.13t}. The whole text must be the
     * version.
     *
     * @throws IllegalArgumentException when {@code text} is not such a version
     */
    public static CPythonVersion parse(String text) {
        Objects.requireNonNull(text, "text");
        Matcher m = TEXT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a CPython version (like 3.12.1, 3.14.0rc2 or 3.13.0t): '"
                    + text + "'");
        }
        try {
            int micro = m.group(3) == null ? -1 : Integer.parseInt(m.group(3));
            ReleaseLevel level = m.group(4) == null ? ReleaseLevel.FINAL : switch (m.group(4)) {
                case "a" -> ReleaseLevel.ALPHA;
                case "b" -> ReleaseLevel.BETA;
                default -> ReleaseLevel.CANDIDATE;
            };
            int serial = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
            return new CPythonVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), micro, level,
                    serial, m.group(6) != null);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("version component out of range in '" + text + "'", e);
        }
    }

    /** {@code true} when this version is {@code major.minor} or later, e.g. {@code isAtLeast(3, 11)}. */
    public boolean isAtLeast(int major, int minor) {
        return this.major > major || (this.major == major && this.minor >= minor);
    }

    /** Orders by major, minor, micro (unknown, -1, first), release level and serial. */
    @Override
    public int compareTo(CPythonVersion o) {
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

    /**
     * {@code 3.12.1}, {@code 3.14.0rc2}, {@code 3.13.0t}; {@code 3.12} when the micro version is
     * unknown. The CLI and the exporters' metadata print versions this way.
     */
    @Override
    public String toString() {
        String s = major + "." + minor + (micro >= 0 ? "." + micro : "");
        if (releaseLevel != ReleaseLevel.FINAL) {
            s += releaseLevel.suffix() + serial;
        }
        return freeThreaded ? s + "t" : s;
    }
}
