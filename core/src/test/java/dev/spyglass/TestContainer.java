package dev.spyglass;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.spyglass.testsupport.PythonInterpreter;

/**
 * A container built from kernel primitives, as Docker builds one but without an engine: a new mount
 * namespace and PID namespace ({@code unshare}), a root file system assembled in a temporary folder
 * from read-only bind mounts plus copied files, {@code pivot_root} into it and the old root
 * unmounted. The paths the target maps (and its code objects name) are those inside the container;
 * the host sees none of the bind mounts (unshare makes them private), so those paths do not exist
 * on the host, or name other files there ({@code /lib/x86_64-linux-gnu/libc.so.6}).
 *
 * <p>The target is PID 1 of its namespace, as in most containers.
 */
final class TestContainer implements AutoCloseable {
    /** Where the target script lives inside the container (a space on purpose). */
    static final String APP_DIR = "/srv/my app";

    private final Path root;
    private final Process unshare;
    private final long hostPid;
    private final String readyLine;
    private final Path stderr;
    private final List<String> mountPoints;

    private TestContainer(Path root, Process unshare, long hostPid, String readyLine, Path stderr,
            List<String> mountPoints) {
        this.mountPoints = mountPoints;
        this.root = root;
        this.unshare = unshare;
        this.hostPid = hostPid;
        this.readyLine = readyLine;
        this.stderr = stderr;
    }

    /** {@code null} when containers can be built here, else why not (to skip with). */
    static String unavailableReason() {
        for (String tool : List.of("/usr/bin/unshare", "/usr/bin/mount", "/usr/bin/umount")) {
            if (!Files.isExecutable(Path.of(tool))) {
                return tool + " is missing";
            }
        }
        if (pivotRoot() == null) {
            return "pivot_root is missing";
        }
        try {
            Process p = new ProcessBuilder("/usr/bin/unshare", "--mount", "--pid", "--fork", "/bin/true")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "unshare did not finish in 10 s";
            }
            if (p.exitValue() != 0) {
                return "unshare --mount --pid is not permitted here (needs CAP_SYS_ADMIN): " + out;
            }
        } catch (IOException e) {
            return "cannot run unshare: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return null;
    }

    private static String pivotRoot() {
        for (String p : List.of("/usr/sbin/pivot_root", "/sbin/pivot_root", "/usr/bin/pivot_root")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return null;
    }

    /** What goes into a container: read-only bind mounts, symbolic links, copied files, the command. */
    static final class Spec {
        final Map<String, Path> binds = new LinkedHashMap<>();
        final Map<String, String> links = new LinkedHashMap<>();
        final Map<String, Path> copies = new LinkedHashMap<>();
        final Map<String, String> env = new LinkedHashMap<>();
        final List<String> command = new ArrayList<>();
        /** Path of the interpreter object (libpython or the executable) inside the container. */
        String interpreterObject;
        /** Folder of the interpreter's standard library inside the container. */
        String stdlib;
        /**
         * {@code chroot} into the root instead of {@code pivot_root}: the target's root is then not a
         * mount root, and {@code /proc/PID/maps} shows paths through the temporary folder that
         * exist neither on the host (the mounts are private) nor under {@code /proc/PID/root}.
         */
        boolean chroot;

        Spec bind(String inside, Path host) {
            binds.put(inside, host);
            return this;
        }

        Spec copy(String inside, Path host) {
            copies.put(inside, host);
            return this;
        }
    }

    /**
     * The container layout for {@code py}: a provisioned Debian root bound as it is ({@code /usr},
     * {@code /etc}, its {@code lib} links); a pyenv tree bound at {@code /opt/py VERSION} (a space
     * on purpose) with the libraries {@code ldd} lists copied in. With {@code copyInterpreterObject},
     * the ELF holding the interpreter is copied to {@code /opt/del me/} instead and run from there (to
     * be deleted while it runs).
     */
    static Spec specFor(PythonInterpreter py, boolean copyInterpreterObject) throws IOException, InterruptedException {
        Spec s = new Spec();
        String pyName = "python" + py.major() + "." + py.minor() + (py.freeThreaded() ? "t" : "");
        if (py.origin() == PythonInterpreter.Origin.PROVISIONED) {
            Path root = py.executable();
            while (root != null && !Files.exists(root.resolve("spyglass-python.properties"))) {
                root = root.getParent();
            }
            if (root == null) {
                throw new IllegalStateException("no provisioned root above " + py.executable());
            }
            try (Stream<Path> top = Files.list(root)) {
                for (Path p : top.toList()) {
                    String name = p.getFileName().toString();
                    if (Files.isSymbolicLink(p)) {
                        s.links.put("/" + name, Files.readSymbolicLink(p).toString());
                    } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        s.bind("/" + name, p);
                    }
                }
            }
            if (!Files.exists(root.resolve("lib64"))) {
                // A root built here (not unpacked from Debian) uses the host's C library: copy it in.
                copyLibraries(s, List.of(py.executable()));
            }
            String exe = "/" + root.relativize(py.executable());
            s.stdlib = "/usr/lib/" + pyName;
            if (copyInterpreterObject) {
                String copy = "/opt/del me/" + py.executable().getFileName();
                s.copy(copy, py.executable());
                s.env.put("PYTHONHOME", "/usr");
                s.command.add(copy);
                s.interpreterObject = copy;
            } else {
                s.command.add(exe);
                s.interpreterObject = exe;
            }
        } else if (py.origin() == PythonInterpreter.Origin.PYENV) {
            Path tree = py.executable().getParent().getParent();
            String opt = "/opt/py " + py.version();
            s.bind(opt, tree);
            List<Path> objects = new ArrayList<>(List.of(py.executable()));
            py.libpython().ifPresent(objects::add);
            String libDirs = "/lib/x86_64-linux-gnu";
            copyLibraries(s, objects);
            String exe = opt + "/" + tree.relativize(py.executable());
            s.command.add(exe);
            s.stdlib = opt + "/lib/" + pyName;
            String libpython = py.libpython().map(l -> opt + "/" + tree.relativize(l)).orElse(exe);
            s.interpreterObject = libpython;
            if (copyInterpreterObject) {
                Path object = py.interpreterObject();
                String copy = "/opt/del me/" + object.getFileName();
                s.copy(copy, object);
                s.interpreterObject = copy;
                // The executable's RUNPATH names the host tree; LD_LIBRARY_PATH comes first.
                libDirs = "/opt/del me:" + libDirs;
                if (!py.sharedLibpython()) {
                    s.command.set(0, copy);
                    s.env.put("PYTHONHOME", opt);
                }
            }
            s.env.put("LD_LIBRARY_PATH", libDirs + ":" + opt + "/lib");
        } else {
            throw new IllegalArgumentException("no container layout for " + py.origin() + " " + py.label());
        }
        return s;
    }

    /** Copies what {@code ldd} lists for {@code objects} (but libpython) into the container. */
    private static void copyLibraries(Spec s, List<Path> objects) throws IOException, InterruptedException {
        for (Path lib : lddDependencies(objects)) {
            if (lib.getFileName().toString().startsWith("libpython")) {
                continue;
            }
            s.copy("/lib/x86_64-linux-gnu/" + lib.getFileName(), lib);
            if (lib.getFileName().toString().startsWith("ld-linux")) {
                s.copy("/lib64/" + lib.getFileName(), lib);
            }
        }
    }

    private static List<Path> lddDependencies(List<Path> objects) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ldd"));
        objects.forEach(o -> cmd.add(o.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        List<Path> libs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String l = line.strip();
            int arrow = l.indexOf("=> /");
            String path = arrow >= 0 ? l.substring(arrow + 3) : l.startsWith("/") ? l : null;
            if (path == null || l.endsWith(":")) {
                // no path, or the "object:" header ldd prints when given several
                continue;
            }
            int paren = path.indexOf(" (");
            Path lib = Path.of(paren >= 0 ? path.substring(0, paren) : path);
            if (!libs.contains(lib)) {
                libs.add(lib);
            }
        }
        return libs;
    }

    /**
     * Starts {@code script} (Python source, written to {@value #APP_DIR}/target.py) in a container
     * and waits for its first line of output.
     */
    static TestContainer start(Spec spec, String script) throws IOException, InterruptedException {
        Path root = Files.createTempDirectory("spyglass-ctr-");
        boolean started = false;
        try {
            for (Map.Entry<String, String> l : spec.links.entrySet()) {
                Files.createSymbolicLink(root.resolve(l.getKey().substring(1)), Path.of(l.getValue()));
            }
            for (String inside : spec.binds.keySet()) {
                Files.createDirectories(root.resolve(inside.substring(1)));
            }
            for (Map.Entry<String, Path> c : spec.copies.entrySet()) {
                Path to = root.resolve(c.getKey().substring(1));
                Files.createDirectories(to.getParent());
                Files.copy(c.getValue(), to);
            }
            Files.createDirectories(root.resolve("proc"));
            Files.createDirectories(root.resolve(".old"));
            Path app = root.resolve(APP_DIR.substring(1));
            Files.createDirectories(app);
            Files.writeString(app.resolve("target.py"), script, StandardCharsets.UTF_8);

            Path hostLoader = Path.of("/lib64/ld-linux-x86-64.so.2").toRealPath();
            StringBuilder sh = new StringBuilder("set -e\n");
            sh.append("C=").append(quote(root.toString())).append('\n');
            sh.append("/usr/bin/mount --bind \"$C\" \"$C\"\n");
            for (Map.Entry<String, Path> b : spec.binds.entrySet()) {
                sh.append("/usr/bin/mount --rbind -o ro ").append(quote(b.getValue().toString())).append(" \"$C\"/")
                        .append(quote(b.getKey().substring(1))).append('\n');
            }
            sh.append("/usr/bin/mount -t proc proc \"$C/proc\"\n");
            if (spec.chroot) {
                sh.append("exec /usr/sbin/chroot \"$C\" \"$@\"\n");
            }
            sh.append("cd \"$C\"\n");
            sh.append(pivotRoot()).append(" . .old\n");
            // The host's umount, run by the host's loader: /.old/lib64/ld-linux... is an absolute
            // link that now resolves inside the container.
            sh.append("/.old").append(hostLoader).append(" --library-path /.old/lib/x86_64-linux-gnu:")
                    .append("/.old/usr/lib/x86_64-linux-gnu /.old/usr/bin/umount -l /.old\n");
            sh.append("exec \"$@\"\n");
            Path setup = Files.createTempFile("spyglass-ctr-", ".sh");
            Files.writeString(setup, sh.toString());
            Path stderr = Files.createTempFile("spyglass-ctr-", ".err");

            List<String> cmd = new ArrayList<>(List.of("/usr/bin/unshare", "--mount", "--pid", "--fork",
                    "--kill-child", "/bin/sh", setup.toString()));
            cmd.addAll(spec.command);
            cmd.add(APP_DIR + "/target.py");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            pb.environment().put("PYTHONUNBUFFERED", "1");
            pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
            pb.environment().putAll(spec.env);
            Process unshare = pb.start();
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    return new BufferedReader(new InputStreamReader(unshare.getInputStream(), StandardCharsets.UTF_8))
                            .readLine();
                } catch (IOException e) {
                    return null;
                }
            });
            String ready;
            try {
                ready = line.get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                ready = null;
            }
            Files.deleteIfExists(setup);
            Optional<ProcessHandle> child = unshare.toHandle().children().findFirst();
            if (ready == null || child.isEmpty()) {
                unshare.destroyForcibly();
                child.ifPresent(ProcessHandle::destroyForcibly);
                unshare.waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException("container target did not start: " + cmd + "\n"
                        + Files.readString(stderr));
            }
            started = true;
            return new TestContainer(root, unshare, child.get().pid(), ready, stderr,
                    List.copyOf(spec.binds.keySet()));
        } finally {
            if (!started) {
                deleteTree(root);
            }
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The PID of the target in the host's (our) PID namespace. */
    long hostPid() {
        return hostPid;
    }

    String readyLine() {
        return readyLine;
    }

    /** The host path of a file inside the container (only copied files and folders exist there). */
    Path hostPath(String inside) {
        return root.resolve(inside.substring(1));
    }

    /** The ids of the {@code NSpid} line of {@code /proc/HOSTPID/task/TID/status}: host first, own last. */
    static long[] nsIds(long hostPid, long hostTid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(hostPid), "task", Long.toString(hostTid),
                "status"))) {
            if (l.startsWith("NSpid:")) {
                return Stream.of(l.substring(6).trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
            }
        }
        return new long[0];
    }

    /** Writes {@code text} to the target's standard input. */
    void send(String text) throws IOException {
        unshare.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        unshare.getOutputStream().flush();
    }

    String stderr() throws IOException {
        return Files.readString(stderr);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        // PID 1 of a namespace ignores signals it has no handler for, except SIGKILL from outside.
        ProcessHandle.of(hostPid).ifPresent(ProcessHandle::destroyForcibly);
        unshare.destroyForcibly();
        unshare.waitFor(10, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && ProcessHandle.of(hostPid).map(ProcessHandle::isAlive).orElse(false); i++) {
            Thread.sleep(20);
        }
        Files.deleteIfExists(stderr);
        for (String m : mountPoints) {
            try (Stream<Path> s = Files.list(hostPath(m))) {
                if (s.findAny().isPresent()) {
                    // Never reached while unshare keeps mounts private; never delete through a mount.
                    throw new IllegalStateException("mount point " + hostPath(m) + " is not empty on the host");
                }
            }
        }
        deleteTree(root);
    }

    private static void deleteTree(Path root) throws IOException {
        // The bind mounts live only in the container's mount namespace: here these are empty folders.
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
