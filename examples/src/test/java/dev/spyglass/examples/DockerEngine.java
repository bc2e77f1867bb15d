package dev.spyglass.examples;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.exception.NotFoundException;

/**
 * The Docker engine and images of the container tests, as {@code scripts/docker-engine.sh} provides them
 * (docs/testing.md#containers). A test asks for an image with {@link #assumeImage}: when the engine or the image
 * is missing, the test is skipped with the reason the script wrote, never passed.
 */
final class DockerEngine {
    /** The images' tag: {@code REV} in scripts/docker-engine.sh. */
    static final String REV = "1";
    /** The JDK the sidecar runs the CLI jar with, bound read-only into its container. */
    static final Path JDK = Path.of(System.getProperty("java.home"));
    /** Label on every container the tests start; scripts/docker-engine.sh stop removes any left behind. */
    static final String LABEL = "dev.spyglass.test";

    private static final Path DIR = Path.of(System.getenv().getOrDefault("SPYGLASS_CACHE",
            System.getProperty("user.home") + "/.cache/spyglass"), "docker");
    private static String engineRefusal;

    private DockerEngine() {
    }

    /** The local image {@code spyglass-test/NAME:REV} (e.g. {@code debian-3.13}); skips the test when it is missing. */
    static DockerImageName assumeImage(String name) {
        assumeEngine();
        String image = "spyglass-test/" + name + ":" + REV;
        try {
            client().inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            String why = reason(name + ".unavailable");
            assumeTrue(false, "image " + image + " missing: " + (why != null ? why : "run scripts/docker-engine.sh"));
        }
        return DockerImageName.parse(image);
    }

    static synchronized void assumeEngine() {
        if (engineRefusal == null) {
            String why = reason("engine.unavailable");
            if (why != null) {
                engineRefusal = "no Docker engine: " + why;
            } else if (!DockerClientFactory.instance().isDockerAvailable()) {
                engineRefusal = "no Docker engine answers (scripts/docker-engine.sh start installs and starts one)";
            } else {
                engineRefusal = "";
            }
        }
        assumeTrue(engineRefusal.isEmpty(), engineRefusal);
    }

    static DockerClient client() {
        return DockerClientFactory.instance().client();
    }

    /**
     * A container of {@code image} running {@code command}, labelled, ready once its output says {@code ready}
     * (the Python scripts print it when their threads run).
     */
    static GenericContainer<?> pythonContainer(DockerImageName image, String... command) {
        GenericContainer<?> c = new GenericContainer<>(image);
        c.withCommand(command).withLabel(LABEL, "1").waitingFor(Wait.forLogMessage(".*ready.*\\n", 1)
                .withStartupTimeout(Duration.ofSeconds(60)));
        return c;
    }

    /** Adds a change to the create-container command (host config, user, ...). */
    static void modify(GenericContainer<?> c, Consumer<CreateContainerCmd> change) {
        c.withCreateContainerCmdModifier(change);
    }

    /** A start check that lets a one-shot container run to its end, whatever its exit code (read after). */
    static StartupCheckStrategy runsToItsEnd(Duration limit) {
        return new StartupCheckStrategy() {
            @Override
            public StartupStatus checkStartupState(DockerClient client, String id) {
                Boolean running = client.inspectContainerCmd(id).exec().getState().getRunning();
                return Boolean.TRUE.equals(running) ? StartupStatus.NOT_YET_KNOWN : StartupStatus.SUCCESSFUL;
            }
        }.withTimeout(limit);
    }

    /** The host PID of the container's first process (what {@code docker inspect -f '{{.State.Pid}}'} prints). */
    static long hostPid(GenericContainer<?> c) {
        return c.getContainerInfo().getState().getPidLong();
    }

    /** The short id {@code docker ps} prints. */
    static String shortId(GenericContainer<?> c) {
        return c.getContainerId().substring(0, 12);
    }

    private static String reason(String file) {
        try {
            Path p = DIR.resolve(file);
            return Files.exists(p) ? Files.readString(p).strip() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
