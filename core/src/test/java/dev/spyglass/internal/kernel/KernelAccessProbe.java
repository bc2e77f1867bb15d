package dev.spyglass.internal.kernel;

import dev.spyglass.SpyglassException;

/**
 * Run in a separate JVM as another user by {@link KernelCallchainsAccessTest}: prints whether
 * /proc/kallsyms shows this user addresses, then tries kernel callchains of process {@code args[0]}
 * and prints {@code OK <threads>} or the exception.
 */
public final class KernelAccessProbe {
    private KernelAccessProbe() {
    }

    public static void main(String[] args) {
        System.out.println("symbols available=" + KernelSymbols.load().available());
        int pid = Integer.parseInt(args[0]);
        try (KernelCallchains k = new KernelCallchains(pid, 1_000_000)) {
            k.track(new int[] {pid}, 1);
            System.out.println("OK " + k.trackedThreads());
        } catch (SpyglassException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }
}
