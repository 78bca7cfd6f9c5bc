package dev.offload.runner;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Runners that are never dialled, with distinct made-up host keys: for state and wire tests. */
final class Runners {

  private Runners() {}

  static RunnerInfo runner(String id, String runnerClass) {
    String blob = Base64.getEncoder().encodeToString(("host key of " + id).getBytes(StandardCharsets.UTF_8));
    return new RunnerInfo(id, runnerClass, "local", "127.0.0.1", 22, "offload", "ssh-ed25519 " + blob,
        "unix:///var/run/docker.sock");
  }
}
