package dev.spyglass;

/** Run in a separate JVM (as another user) by {@link PermissionTest}: attaches and prints the outcome. */
public final class AttachProbe {
    private AttachProbe() {
    }

    public static void main(String[] args) {
        try (PythonProcess p = PythonProcess.attach(Long.parseLong(args[0]))) {
            System.out.println("OK " + p.version() + " " + p.snapshot().size());
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
