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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exec runners after a restart: the pool finds them from the create command's JSON it persisted,
 * without running any command. The "VM" is an embedded SSH server the create script reports.
 */
class ExecRunnersAdoptionTest {

  @TempDir Path dir;
  private ActorTestKit testKit;
  private LocalRunners vms;
  private RunnerFleet fleet;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
    vms = LocalRunners.start(ConfigFactory.load(), dir, ForkJoinPool.commonPool());
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    if (fleet != null) {
      fleet.close();
    }
    vms.close();
  }

  private Path script(String name, String body) throws Exception {
    Path script = dir.resolve(name);
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    assertTrue(script.toFile().setExecutable(true));
    return script;
  }

  private ActorRef<Command> startPool(Path create, Path destroy) {
    SshConnections ssh = new SshConnections(LocalRunners.clientKeyPath(dir), WAIT, ForkJoinPool.commonPool());
    FleetSettings settings = new FleetSettings(Map.of("standard", new RunnerClass("standard", "exec", 1, 1)),
        "true", WAIT, "true", Duration.ofMinutes(10), Duration.ofMinutes(10));
    fleet = new RunnerFleet(settings,
        Map.of("exec", new ExecRunners(create.toString(), destroy.toString(), WAIT, ForkJoinPool.commonPool())),
        ssh, ForkJoinPool.commonPool(), ssh::close);
    return testKit.spawn(RunnerPool.create(fleet, new Sessions(), Clock.systemUTC()));
  }

  @Test
  void aRestartedPoolAdoptsExecRunnersFromTheirPersistedJson() throws Exception {
    RunnerInfo vm = vms.create("standard").toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    Path calls = dir.resolve("calls.log");
    Path destroy = script("destroy.sh", "echo \"destroy $1\" >> " + calls);
    Path create = script("create.sh", "echo \"create $1\" >> " + calls + "\n"
        + "echo '{\"id\":\"vm-7\",\"host\":\"" + vm.host() + "\",\"port\":" + vm.port() + ",\"user\":\"" + vm.user()
        + "\",\"hostKey\":\"" + vm.hostKey() + "\",\"engineTarget\":\"" + vm.engineTarget() + "\"}'");
    ActorRef<Command> pool = startPool(create, destroy);
    awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "the exec runner warm");

    testKit.stop(pool, WAIT);
    fleet.close();
    Path failing = script("create-fails.sh", "echo 'no capacity' >&2; exit 1");
    pool = startPool(failing, destroy);

    ActorRef<Command> restarted = pool;
    awaitRunners(testKit, restarted, r -> count(r, "warm") == 1 && r.get(0).id().equals("vm-7"), "vm-7 adopted");
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    restarted.tell(new Lease("s1", "standard", Instant.now().plusSeconds(60), probe.ref()));
    RunnerInfo leased = probe.expectMessageClass(Leased.class, WAIT).runner();
    assertEquals(new RunnerInfo("vm-7", "standard", "exec", vm.host(), vm.port(), vm.user(), vm.hostKey(),
        vm.engineTarget()), leased);
    assertEquals("create standard\n", Files.readString(calls), "created once, never destroyed");
  }
}
