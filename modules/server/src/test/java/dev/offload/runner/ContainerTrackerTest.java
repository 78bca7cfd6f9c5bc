package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.Release;
import dev.offload.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A leased runner's containers reported to its session, from a fake engine's listing and events. */
class ContainerTrackerTest {

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private Fleet fleet;
  private final Sessions sessions = new Sessions();
  private ActorRef<Command> pool;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
    fleet = Fleet.start(dataDir, 1, 1);
    pool = testKit.spawn(RunnerPool.create(fleet.fleet, sessions, Clock.systemUTC()));
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    fleet.close();
  }

  private static java.util.Set<Long> eventStreams() {
    return ProcessHandle.current().descendants()
        .filter(p -> p.info().commandLine().orElse("").contains("sleep 600"))
        .map(ProcessHandle::pid).collect(java.util.stream.Collectors.toSet());
  }

  private RunnerInfo lease(String session) {
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease(session, "standard", Instant.now().plusSeconds(60), probe.ref()));
    return probe.expectMessageClass(Leased.class, WAIT).runner();
  }

  @Test
  void listedAndStartedThenStoppedContainersAreReportedInOrder() throws Exception {
    Files.writeString(dataDir.resolve("ps"), "{\"ID\":\"c0\",\"Image\":\"redis:7\",\"Names\":\"cache\"}\n");
    Files.writeString(dataDir.resolve("events"), String.join("\n",
        "{\"status\":\"start\",\"id\":\"c1\",\"from\":\"nginx:1.27\",\"Type\":\"container\",\"Action\":\"start\","
            + "\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"image\":\"nginx:1.27\",\"name\":\"web\"}}}",
        "{\"status\":\"die\",\"id\":\"c1\",\"from\":\"nginx:1.27\",\"Type\":\"container\",\"Action\":\"die\","
            + "\"Actor\":{\"ID\":\"c1\",\"Attributes\":{\"image\":\"nginx:1.27\",\"exitCode\":\"0\"}}}",
        "{\"status\":\"stop\",\"id\":\"c1\",\"Type\":\"container\",\"Action\":\"stop\",\"Actor\":{\"ID\":\"c1\"}}",
        ""));

    // Other tests' fleets in this JVM may have left fake `docker events` behind: only ours count.
    java.util.Set<Long> before = eventStreams();
    RunnerInfo runner = lease("s1");

    List<String> reports = Await.until(WAIT, () -> List.copyOf(sessions.reports), r -> r.size() >= 3, "three reports");
    assertEquals(List.of("started s1 c0 redis:7", "started s1 c1 nginx:1.27", "stopped s1 c1"), reports);
    assertTrue(fleet.dockerLog().contains(runner.id() + " docker events --format {{json .}} --filter type=container"),
        fleet.dockerLog().toString());

    pool.tell(new Release("s1", runner.id()));
    Await.until(WAIT, () -> eventStreams().stream().anyMatch(pid -> !before.contains(pid)), running -> !running,
        "docker events ended with the lease");
  }

  @Test
  void theTcpAndUdpPortsAStartedContainerPublishesAreReportedAfterItsStart() throws Exception {
    Files.writeString(dataDir.resolve("ps"), "{\"ID\":\"c0\",\"Image\":\"redis:7\"}\n");
    Files.writeString(dataDir.resolve("events"),
        "{\"status\":\"start\",\"id\":\"c1f00d\",\"Type\":\"container\",\"Action\":\"start\","
            + "\"Actor\":{\"ID\":\"c1f00d\",\"Attributes\":{\"image\":\"nginx:1.27\",\"name\":\"web\"}}}\n");
    // As the engine answers: one entry per address a port is bound on, null for exposed-only ports.
    Files.writeString(dataDir.resolve("inspect"), """
        [{"Id":"c1f00d","Name":"/web","NetworkSettings":{"Ports":{
          "80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],
          "53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],
          "443/tcp":null}}}]
        """);

    lease("s1");

    List<String> reports = Await.until(WAIT, () -> List.copyOf(sessions.reports), r -> r.size() >= 3, "three reports");
    assertEquals(List.of("started s1 c0 redis:7", "started s1 c1f00d nginx:1.27",
        "ports s1 c1f00d web [5353->53/udp, 8080->80/tcp]"), reports);
    assertTrue(fleet.dockerLog().stream().anyMatch(line -> line.endsWith("docker container inspect c1f00d")),
        fleet.dockerLog().toString());
  }

  @Test
  void anEngineThatCannotBeReachedReportsNothing() throws Exception {
    Files.writeString(LocalRunners.binDir(dataDir).resolve("docker"), "#!/bin/sh\necho 'Cannot connect' >&2\nexit 1\n");

    lease("s1");

    Await.until(WAIT, () -> Files.exists(dataDir.resolve("runners/local-1")), exists -> exists, "the runner directory");
    TestProbe<Object> quiet = testKit.createTestProbe();
    quiet.expectNoMessage(java.time.Duration.ofMillis(1500));
    assertEquals(List.of(), sessions.reports);
  }
}
