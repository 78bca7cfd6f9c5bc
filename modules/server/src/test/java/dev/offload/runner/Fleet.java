package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.FleetSettings.RunnerClass;
import dev.offload.runner.RunnerPool.RunnerList;
import dev.offload.runner.RunnerPool.RunnerStatus;
import dev.offload.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Predicate;

/**
 * Local runners whose {@code docker} is a script that appends each call, prefixed with the
 * runner's id, to {@code docker.log}. Files in the data directory make it fail: {@code wipe-fails}
 * (the prune), {@code hold-wipe} (the prune waits while it exists), {@code engine-down} (info);
 * {@code ps}, {@code events} and {@code inspect} hold what {@code docker ps}, {@code docker events}
 * (which then stays open) and {@code docker container inspect} print.
 */
final class Fleet implements AutoCloseable {

  static final Duration WAIT = Duration.ofSeconds(30);

  final Path dataDir;
  final LocalRunners local;
  final RunnerFleet fleet;

  private Fleet(Path dataDir, FleetSettings settings) {
    this.dataDir = dataDir;
    this.local = LocalRunners.start(ConfigFactory.load(), dataDir, ForkJoinPool.commonPool());
    SshConnections ssh = new SshConnections(LocalRunners.clientKeyPath(dataDir), WAIT, ForkJoinPool.commonPool());
    this.fleet = new RunnerFleet(settings, Map.of(local.name(), local), ssh, ForkJoinPool.commonPool(), () -> {
      ssh.close();
      local.close();
    });
  }

  static Fleet start(Path dataDir, int minWarm, int max, Duration healthInterval, Duration lostAfter) {
    installDocker(dataDir);
    FleetSettings settings = new FleetSettings(
        Map.of("standard", new RunnerClass("standard", "local", minWarm, max)),
        "docker rm -f $(docker ps -aq) 2>/dev/null; docker system prune -af --volumes", WAIT,
        "docker info --format '{{.ServerVersion}}'", healthInterval, lostAfter);
    return new Fleet(dataDir, settings);
  }

  static Fleet start(Path dataDir, int minWarm, int max) {
    return start(dataDir, minWarm, max, Duration.ofMinutes(10), Duration.ofMinutes(10));
  }

  private static void installDocker(Path dataDir) {
    try {
      Path docker = Files.createDirectories(LocalRunners.binDir(dataDir)).resolve("docker");
      Files.writeString(docker, String.join("\n",
          "#!/bin/sh",
          "d=" + dataDir,
          "echo \"$(basename \"$PWD\") docker $*\" >> \"$d/docker.log\"",
          "case \"$1\" in",
          "  info) [ -e \"$d/engine-down\" ] && { echo 'Cannot connect to the Docker daemon' >&2; exit 1; }; echo 27.3.1 ;;",
          "  ps) [ -e \"$d/ps\" ] && cat \"$d/ps\" ;;",
          "  events) [ -e \"$d/events\" ] && cat \"$d/events\"; exec sleep 600 ;;",
          "  container) [ -e \"$d/inspect\" ] && cat \"$d/inspect\" ;;",
          "  system) while [ -e \"$d/hold-wipe\" ]; do sleep 0.05; done",
          "    [ -e \"$d/wipe-fails\" ] && { echo 'prune failed: device busy' >&2; exit 1; } ;;",
          "esac",
          "exit 0",
          ""));
      assertTrue(docker.toFile().setExecutable(true));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The calls the fake docker received, in order. */
  List<String> dockerLog() {
    try {
      Path log = dataDir.resolve("docker.log");
      return Files.exists(log) ? Files.readAllLines(log) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void touch(String name) {
    try {
      Files.writeString(dataDir.resolve(name), "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void remove(String name) {
    try {
      Files.deleteIfExists(dataDir.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<RunnerStatus> runners(ActorTestKit testKit, ActorRef<RunnerPool.Command> pool) {
    TestProbe<RunnerList> probe = testKit.createTestProbe();
    pool.tell(new RunnerPool.GetRunners(probe.ref()));
    return probe.expectMessageClass(RunnerList.class, WAIT).runners();
  }

  static List<RunnerStatus> awaitRunners(ActorTestKit testKit, ActorRef<RunnerPool.Command> pool,
      Predicate<List<RunnerStatus>> done, String what) {
    return Await.until(WAIT, () -> runners(testKit, pool), done, what);
  }

  static long count(List<RunnerStatus> runners, String state) {
    return runners.stream().filter(r -> r.state().equals(state)).count();
  }

  @Override
  public void close() throws Exception {
    fleet.close();
  }
}
