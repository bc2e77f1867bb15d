package dev.spyglass.examples;

import static dev.spyglass.examples.SpyglassCliIT.JSON;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.model.Capability;

/**
 * The profiler as a sidecar, the way it runs in Kubernetes (docs/containers.md): Spyglass's CLI jar in a second
 * container that shares the target container's PID namespace ({@code --pid=container:ID}; in a pod
 * {@code shareProcessNamespace: true}), where the target is PID 1, writing its profile to a mounted folder. The
 * target runs as uid 1000 and the sidecar as root, as an application image and a tools image usually do: the
 * sidecar then needs {@code CAP_SYS_PTRACE}, and without it says exactly which capability or option to add.
 */
class SidecarIT {

    @TempDir
    Path dir;

    @Test
    void aSidecarWithSysPtraceRecordsThePythonOfTheTargetContainer() throws Exception {
        try (GenericContainer<?> target = target()) {
            target.start();
            Result r = sidecar(target, true, "record", "-p", "1", "-d", "2s", "-o", "/out/profile.jsonl");
            assertThat(r.exit).as(r.logs).isZero();
            List<String> lines = Files.readAllLines(dir.resolve("out/profile.jsonl"));
            assertThat(lines).isNotEmpty();
            Set<String> functions = new HashSet<>();
            for (String line : lines) {
                JsonNode sample = JSON.readTree(line);
            if (sample.has("type")) {
                continue; // the recording's header and end lines
            }
                // PID 1 of the shared namespace is the target's interpreter; its container is the target's.
                assertThat(sample.get("pid").asLong()).isEqualTo(1);
                assertThat(sample.get("container").asText()).isEqualTo(DockerEngine.shortId(target));
                sample.get("frames").forEach(f -> functions.add(f.get("function").asText()));
            }
            assertThat(functions).contains("sleeper", "worker");
        }
    }

    @Test
    void aSidecarWithoutSysPtraceNamesTheCapabilityToAdd() throws Exception {
        try (GenericContainer<?> target = target()) {
            target.start();
            Result r = sidecar(target, false, "dump", "-p", "1");
            assertThat(r.exit).as(r.logs).isEqualTo(Failures.ACCESS_DENIED);
            assertThat(r.logs).contains("not allowed to read the memory of process 1")
                    .contains("without the capability CAP_SYS_PTRACE")
                    .contains("docker run --cap-add SYS_PTRACE")
                    .contains("add: [\"SYS_PTRACE\"]");
        }
    }

    /**
     * Root in both containers, the same capabilities: the ptrace check passes without {@code CAP_SYS_PTRACE}
     * (Docker's default seccomp profile then refuses {@code process_vm_readv}, and Spyglass reads
     * {@code /proc/1/mem}; docs/containers.md#seccomp). The dump names the target's container.
     */
    @Test
    void aRootSidecarWithoutSysPtraceDumpsARootTarget() throws Exception {
        try (GenericContainer<?> target = target(false)) {
            target.start();
            Result r = sidecar(target, false, "dump", "-p", "1");
            assertThat(r.exit).as(r.logs).isZero();
            assertThat(r.logs).contains("Container " + DockerEngine.shortId(target) + "\n")
                    .contains("sleeper (<string>:").contains("worker (<string>:");
        }
    }

    private static GenericContainer<?> target() {
        return target(true);
    }

    private static GenericContainer<?> target(boolean asUid1000) {
        GenericContainer<?> c = DockerEngine.pythonContainer(DockerEngine.assumeImage("debian-3.13"),
                "/usr/bin/python3.13", "-c", ContainerTargetIT.SCRIPT, "a");
        if (asUid1000) {
            DockerEngine.modify(c, cmd -> cmd.withUser("1000:1000"));
        }
        return c;
    }

    private record Result(long exit, String logs) {
    }

    /**
     * Runs {@code java -jar spyglass-cli.jar ARGS} in a sidecar container of the 3.11 image (bookworm's libc for the
     * JDK), the JDK and the CLI jar bound read-only, {@code dir/out} bound at {@code /out}, in the target's PID
     * namespace, with or without {@code CAP_SYS_PTRACE}; waits for its end.
     */
    private Result sidecar(GenericContainer<?> target, boolean ptrace, String... args) throws Exception {
        DockerImageName image = DockerEngine.assumeImage("debian-3.11");
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> command = new ArrayList<>(List.of("/opt/jdk/bin/java", "--enable-native-access=ALL-UNNAMED",
                "-jar", "/opt/spyglass/spyglass-cli.jar"));
        command.addAll(List.of(args));
        try (GenericContainer<?> sidecar = new GenericContainer<>(image)) {
            sidecar.withCommand(command.toArray(String[]::new)).withLabel(DockerEngine.LABEL, "1")
                    .withFileSystemBind(DockerEngine.JDK.toString(), "/opt/jdk", BindMode.READ_ONLY)
                    .withFileSystemBind(SpyglassCliIT.cliJar().toAbsolutePath().toString(),
                            "/opt/spyglass/spyglass-cli.jar", BindMode.READ_ONLY)
                    .withFileSystemBind(out.toString(), "/out", BindMode.READ_WRITE)
                    .withStartupCheckStrategy(DockerEngine.runsToItsEnd(Duration.ofSeconds(120)));
            DockerEngine.modify(sidecar, cmd -> {
                cmd.getHostConfig().withPidMode("container:" + target.getContainerId());
                if (ptrace) {
                    cmd.getHostConfig().withCapAdd(Capability.SYS_PTRACE);
                }
            });
            sidecar.start();
            long exit = DockerEngine.client().inspectContainerCmd(sidecar.getContainerId()).exec().getState()
                    .getExitCodeLong();
            return new Result(exit, sidecar.getLogs());
        }
    }
}
