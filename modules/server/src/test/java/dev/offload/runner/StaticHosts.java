package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Local runner hosts offered to a control plane through the {@code static} provider. */
final class StaticHosts {
  private StaticHosts() {}

  /** A {@code docker} on the hosts' PATH that answers with an engine version (the health check). */
  static Path installDocker(Path hostsDir) throws IOException {
    Path docker = Files.createDirectories(LocalRunners.binDir(hostsDir)).resolve("docker");
    Files.writeString(docker, "#!/bin/sh\necho 27.3.1\n");
    assertTrue(docker.toFile().setExecutable(true));
    return docker;
  }

  /** The configuration line offering {@code host} as runner {@code vm-a} of class standard. */
  static String config(RunnerInfo host, String engineTarget) {
    return "offload.runners.static.hosts = [{ id = vm-a, class = standard, host = \"" + host.host() + "\", port = "
        + host.port() + ", user = \"" + host.user() + "\", host-key = \"" + host.hostKey()
        + "\", engine-target = \"" + engineTarget + "\" }]";
  }
}
