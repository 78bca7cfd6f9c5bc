package dev.offload.runner;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Catalogues for pool tests: runners that are never dialled, with distinct made-up host keys. */
final class Runners {

  private Runners() {}

  static RunnerInfo runner(String id, String runnerClass) {
    String blob = Base64.getEncoder().encodeToString(("host key of " + id).getBytes(StandardCharsets.UTF_8));
    return new RunnerInfo(id, runnerClass, "local", "127.0.0.1", 22, "offload", "ssh-ed25519 " + blob,
        "unix:///var/run/docker.sock");
  }

  static List<RunnerInfo> standard(int count) {
    List<RunnerInfo> runners = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      runners.add(runner("local-" + i, "standard"));
    }
    return List.copyOf(runners);
  }
}
