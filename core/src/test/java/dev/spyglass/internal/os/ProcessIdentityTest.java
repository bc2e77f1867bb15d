package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.spyglass.ProcessGoneException;

/** Exit and exec of real processes, seen through a pidfd and through the held /proc/PID/stat that stands in for it. */
class ProcessIdentityTest {

    @ParameterizedTest(name = "pidfd={0}")
    @ValueSource(booleans = {true, false})
    void seesAnExitIncludingAZombie(boolean pidfd) throws Exception {
        Process p = new ProcessBuilder("sleep", "30").start();
        try (ProcessIdentity id = ProcessIdentity.open(p.pid(), pidfd)) {
            assertThat(id.usesPidfd()).isEqualTo(pidfd);
            assertThat(id.startTime()).isPositive();
            assertThat(id.check()).isNull();
            // SIGKILL without reaping first: a zombie has exited too.
            new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
            ProcessGoneException gone = awaitChange(id);
            assertThat(gone.getMessage()).isEqualTo("process " + p.pid() + " exited");
            assertThat(gone.programReplaced()).isFalse();
            p.waitFor(5, TimeUnit.SECONDS);
            assertThat(id.check()).isNotNull();
        } finally {
            p.destroyForcibly();
        }
    }

    @ParameterizedTest(name = "pidfd={0}")
    @ValueSource(booleans = {true, false})
    void seesAnExecIntoAnotherProgram(boolean pidfd) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "read x; exec sleep 30").start();
        try (ProcessIdentity id = ProcessIdentity.open(p.pid(), pidfd);
                RemoteMemory memory = RemoteMemory.open(p.pid(), ProcessMap.read(p.pid()).firstReadableAddress())) {
            id.watchProgram(memory);
            assertThat(id.check()).isNull();
            p.getOutputStream().write('\n');
            p.getOutputStream().flush();
            ProcessGoneException gone = awaitChange(id);
            assertThat(gone.programReplaced()).isTrue();
            assertThat(gone.getMessage()).startsWith("process " + p.pid() + " replaced its program (exec): now ")
                    .endsWith("sleep");
        } finally {
            p.destroyForcibly();
        }
    }

    @ParameterizedTest(name = "pidfd={0}")
    @ValueSource(booleans = {true, false})
    void aProcessThatIsGoneCannotBeHeld(boolean pidfd) throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor(5, TimeUnit.SECONDS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProcessIdentity.open(p.pid(), pidfd))
                .isInstanceOf(ProcessGoneException.class).hasMessageContaining(Long.toString(p.pid()));
    }

    private static ProcessGoneException awaitChange(ProcessIdentity id) throws InterruptedException {
        for (int i = 0; i < 1000; i++) {
            ProcessGoneException g = id.check();
            if (g != null) {
                return g;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no change seen in 5 s");
    }
}
