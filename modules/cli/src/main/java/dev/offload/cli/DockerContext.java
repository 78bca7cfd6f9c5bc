package dev.offload.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Docker context {@code offload} pointing at the local bridge, so {@code docker context use
 * offload} works in every shell; {@code DOCKER_HOST} stays the way that needs no docker CLI.
 */
final class DockerContext {
  static final String NAME = "offload";

  private DockerContext() {}

  static void point(int port, Map<String, String> env, PrintWriter err) {
    Optional<Path> docker = onPath("docker", env);
    if (docker.isEmpty()) return;
    String host = "host=tcp://127.0.0.1:" + port;
    String verb = run(docker.get(), env, "context", "inspect", NAME) == 0 ? "update" : "create";
    if (run(docker.get(), env, "context", verb, NAME, "--docker", host) == 0) {
      err.println("Docker context " + NAME + " points at tcp://127.0.0.1:" + port + " (docker context use " + NAME + ")");
    } else {
      err.println("could not " + verb + " the Docker context " + NAME + "; DOCKER_HOST above works without it");
    }
    err.flush();
  }

  static Optional<Path> onPath(String command, Map<String, String> env) {
    for (String dir : env.getOrDefault("PATH", "").split(":")) {
      if (dir.isEmpty()) continue;
      Path candidate = Path.of(dir, command);
      if (Files.isExecutable(candidate)) return Optional.of(candidate);
    }
    return Optional.empty();
  }

  private static int run(Path docker, Map<String, String> env, String... args) {
    ProcessBuilder builder = new ProcessBuilder(concat(docker.toString(), args))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().clear();
    builder.environment().putAll(env);
    try {
      Process process = builder.start();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return -1;
      }
      return process.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static List<String> concat(String first, String... rest) {
    var all = new java.util.ArrayList<String>(List.of(first));
    all.addAll(List.of(rest));
    return all;
  }
}
