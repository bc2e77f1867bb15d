package dev.spyglass;

/**
 * Run in a separate JVM (as another user, in a user namespace, without some capabilities) by
 * {@link PermissionTest} and {@link ReplacedLibpythonTest}: attaches and prints the outcome; with
 * {@code --frames}, every frame's function.
 */
public final class AttachProbe {
    private AttachProbe() {
    }

    public static void main(String[] args) {
        try (PythonProcess p = PythonProcess.attach(Long.parseLong(args[0]))) {
            java.util.List<ThreadStack> threads = p.snapshot();
            System.out.println("OK " + p.version() + " " + threads.size());
            if (args.length > 1 && args[1].equals("--frames")) {
                threads.forEach(t -> t.frames().forEach(f -> System.out.println("  " + f.function())));
            }
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
