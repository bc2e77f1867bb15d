package dev.spyglass.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ContainerIdTest {
    private static final String ID = "cdbcfc838834d2bf50d9e7426d1e5ebf00a2dfcce50769d345eded1d416bb295";
    private static final String OTHER = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    @Test
    void dockerOnCgroupV1WithTheCgroupfsDriver() {
        // As read on this project's test machine (Docker 20.10, cgroup v1).
        String file = "9:name=systemd:/docker/" + ID + "\n8:pids:/docker/" + ID + "\n7:blkio:/docker/" + ID + "\n";
        assertThat(ContainerId.parse(file)).isEqualTo("cdbcfc838834");
    }

    @Test
    void runtimesOnCgroupV2AndTheSystemdDriver() {
        assertThat(ContainerId.parse("0::/system.slice/docker-" + ID + ".scope\n")).isEqualTo("cdbcfc838834");
        assertThat(ContainerId.parse("0::/kubepods.slice/kubepods-burstable.slice/"
                + "kubepods-burstable-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/cri-containerd-" + ID + ".scope\n"))
                .isEqualTo("cdbcfc838834");
        assertThat(ContainerId.parse("0::/kubepods.slice/kubepods-besteffort.slice/"
                + "kubepods-besteffort-podabc.slice/crio-" + ID + ".scope\n")).isEqualTo("cdbcfc838834");
        assertThat(ContainerId.parse("0::/machine.slice/libpod-" + ID + ".scope/container\n"))
                .isEqualTo("cdbcfc838834");
        assertThat(ContainerId.parse("11:memory:/kubepods/besteffort/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718/" + ID))
                .isEqualTo("cdbcfc838834");
    }

    @Test
    void theInnermostContainerOfNestedOnesIsNamed() {
        assertThat(ContainerId.parse("12:pids:/docker/" + OTHER + "/docker/" + ID + "\n")).isEqualTo("cdbcfc838834");
    }

    @Test
    void noContainerIsAnEmptyId() {
        assertThat(ContainerId.parse("0::/\n")).isEmpty();
        assertThat(ContainerId.parse("0::/user.slice/user-1000.slice/session-3.scope\n")).isEmpty();
        assertThat(ContainerId.parse("12:pids:/lxc/web\n")).isEmpty();
        // Podman's monitor beside a container is not in it; a shorter hex name is no container id.
        assertThat(ContainerId.parse("0::/machine.slice/libpod-conmon-" + ID + ".scope\n")).isEmpty();
        assertThat(ContainerId.parse("0::/system.slice/docker-" + ID.substring(0, 63) + ".scope\n")).isEmpty();
        assertThat(ContainerId.parse("")).isEmpty();
        assertThat(ContainerId.parse("garbage without colons\n")).isEmpty();
    }

    @Test
    void thisJvmIsReadWithoutFailing() {
        assertThat(ContainerId.of(ProcessHandle.current().pid())).matches("|[0-9a-f]{12}");
        assertThat(ContainerId.of(Long.MAX_VALUE)).isEmpty();
    }
}
