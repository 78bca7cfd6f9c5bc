package dev.offload.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code start --detach}: the same program on the same class path, re-launched as the hidden
 * {@code bridge} command in its own process (and its own session, when {@code setsid} exists, so
 * closing the terminal does not hang it up). The child writes the state file once it listens;
 * waiting for that proves the port is bound before DOCKER_HOST is printed.
 */
final class BackgroundBridge {
  private static final Duration STARTUP = Duration.ofSeconds(30);

  private BackgroundBridge() {}

  static ConfigStore.BridgeState launch(ConfigStore store, Map<String, String> env, String session, int port) {
    List<String> command = new ArrayList<>();
    DockerContext.onPath("setsid", env).ifPresent(setsid -> command.add(setsid.toString()));
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Offload.class.getName(),
        "bridge", session, "--port", String.valueOf(port)));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.appendTo(store.logFile().toFile()));
    builder.environment().clear();
    builder.environment().putAll(env);
    builder.environment().put("XDG_CONFIG_HOME", store.dir().getParent().toString());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new CliFailure("cannot start the background bridge (" + e.getMessage() + "): run offload start without --detach");
    }
    long deadline = System.nanoTime() + STARTUP.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<ConfigStore.BridgeState> state = store.state();
      if (state.isPresent() && session.equals(state.get().session()) && state.get().pid() != null) return state.get();
      if (!process.isAlive()) {
        throw new CliFailure("the background bridge exited at once (exit " + process.exitValue() + "): see " + store.logFile());
      }
      LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
    }
    process.destroy();
    throw new CliFailure("the background bridge did not start within " + STARTUP.toSeconds() + " s: see " + store.logFile());
  }

  /** The detached bridge of the state file, when that process still runs and is ours. */
  static Optional<ProcessHandle> running(ConfigStore store) {
    return store.state()
        .map(ConfigStore.BridgeState::pid)
        .flatMap(ProcessHandle::of)
        .filter(ProcessHandle::isAlive)
        // A recycled pid must not be signalled: check it is this program when the OS says.
        .filter(p -> p.info().commandLine().map(c -> c.contains(Offload.class.getName())).orElse(true));
  }

  /** Ends a detached bridge (SIGTERM, or SIGKILL when forced) and waits until it is gone. */
  static void stop(ProcessHandle process, boolean force) {
    if (force) process.destroyForcibly();
    else process.destroy();
    try {
      process.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new CliFailure("the bridge (pid " + process.pid() + ") did not stop within 10 s: run offload stop --force");
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure("interrupted while stopping the bridge (pid " + process.pid() + ")");
    }
  }
}
