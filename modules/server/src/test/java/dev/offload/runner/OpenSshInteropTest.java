package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.FleetSettings.RunnerClass;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.Release;
import dev.offload.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A static runner served by the system's OpenSSH: leased, health-checked and wiped like any other. */
class OpenSshInteropTest {

  @TempDir Path dir;
  private ActorTestKit testKit;
  private OpenSshServer sshd;
  private RunnerFleet fleet;

  @BeforeEach
  void start() throws Exception {
    Path clientKey = dir.resolve("client-key");
    SshKeys.loadOrCreate(clientKey, "offload control plane");
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path docker = bin.resolve("docker");
    Files.writeString(docker, "#!/bin/sh\necho \"docker $*\" >> " + dir.resolve("docker.log")
        + "\n[ \"$1\" = info ] && echo 27.3.1\nexit 0\n");
    assertTrue(docker.toFile().setExecutable(true));
    sshd = OpenSshServer.start(dir, dir.resolve("client-key.pub"), bin);
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
  }

  @AfterEach
  void stop() throws Exception {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
    if (fleet != null) {
      fleet.close();
    }
    if (sshd != null) {
      sshd.close();
    }
  }

  @Test
  void aStaticRunnerOnOpenSshIsLeasedHealthCheckedAndWiped() throws Exception {
    RunnerInfo host = new RunnerInfo("openssh-1", "standard", "static", "127.0.0.1", sshd.port, sshd.user,
        sshd.hostKey, "unix:///var/run/docker.sock");
    SshConnections ssh = new SshConnections(dir.resolve("client-key"), WAIT, ForkJoinPool.commonPool());
    FleetSettings settings = new FleetSettings(Map.of("standard", new RunnerClass("standard", "static", 1, 1)),
        "docker rm -f $(docker ps -aq) 2>/dev/null; docker system prune -af --volumes", WAIT,
        "docker info --format '{{.ServerVersion}}'", Duration.ofMillis(300), WAIT);
    fleet = new RunnerFleet(settings, Map.of("static", new StaticRunners(List.of(host))), ssh,
        ForkJoinPool.commonPool(), ssh::close);
    ActorRef<Command> pool = testKit.spawn(RunnerPool.create(fleet, new Sessions(), Clock.systemUTC()));

    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "standard", Instant.now().plusSeconds(60), probe.ref()));
    assertEquals(new Leased("s1", host), probe.expectMessageClass(Leased.class, WAIT));
    awaitRunners(testKit, pool, r -> count(r, "leased") == 1 && r.get(0).lastHealthAt() != null,
        "a health check of the leased runner");

    pool.tell(new Release("s1", host.id()));

    awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "the runner wiped and warm again");
    List<String> log = Await.until(WAIT, () -> readLog(dir.resolve("docker.log")),
        l -> l.contains("docker system prune -af --volumes"), "the wipe on the OpenSSH host");
    assertTrue(log.contains("docker info --format {{.ServerVersion}}"), log.toString());
    assertTrue(log.indexOf("docker ps -aq") < log.indexOf("docker system prune -af --volumes"), log.toString());
  }

  private static List<String> readLog(Path log) {
    try {
      return Files.exists(log) ? Files.readAllLines(log) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
