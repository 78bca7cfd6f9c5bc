package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Confirm;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseRefused;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.RunnerStatus;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool stopped with two runners leased and one warm, its local runners shut down, then both
 * started again on the same data directory and journal: runners come back with their ids and host
 * keys, live leases stand, and the lease of a session that ended meanwhile is released and wiped.
 */
class RunnerPoolRestartTest {

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private Fleet fleet;
  private final Sessions sessions = new Sessions();

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    fleet.close();
  }

  private ActorRef<Command> startPool() {
    fleet = Fleet.start(dataDir, 1, 3);
    return testKit.spawn(RunnerPool.create(fleet.fleet, sessions, Clock.systemUTC()));
  }

  private LeaseReply ask(ActorRef<Command> pool, java.util.function.Function<akka.actor.typed.ActorRef<LeaseReply>, Command> command) {
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(command.apply(probe.ref()));
    return probe.expectMessageClass(LeaseReply.class, WAIT);
  }

  private static Map<String, String> keys(List<RunnerStatus> runners) {
    return runners.stream().collect(Collectors.toMap(RunnerStatus::id, RunnerStatus::hostKeyFingerprint));
  }

  @Test
  void leasesStandRunnersComeBackAndEndedSessionsAreReleased() throws Exception {
    ActorRef<Command> pool = startPool();
    Instant far = Instant.now().plusSeconds(600);
    RunnerInfo kept = ((Leased) ask(pool, r -> new Lease("s1", "standard", far, r))).runner();
    RunnerInfo ended = ((Leased) ask(pool, r -> new Lease("s2", "standard", far, r))).runner();
    List<RunnerStatus> before = awaitRunners(testKit, pool,
        r -> count(r, "leased") == 2 && count(r, "warm") == 1, "two leased and one warm");

    testKit.stop(pool, WAIT);
    fleet.close();
    sessions.ended.add("s2");
    pool = startPool();

    ActorRef<Command> restarted = pool;
    List<RunnerStatus> after = awaitRunners(testKit, restarted,
        r -> count(r, "leased") == 1 && count(r, "warm") == 2, "s2's runner wiped and warm, s1's leased");
    assertEquals(keys(before), keys(after), "the same runners with the same host keys");
    assertTrue(fleet.dockerLog().contains(ended.id() + " docker system prune -af --volumes"), fleet.dockerLog().toString());

    Leased confirmed = (Leased) ask(restarted, r -> new Confirm("s1", kept.id(), r));
    assertEquals(kept.id(), confirmed.runner().id());
    assertEquals(kept.hostKey(), confirmed.runner().hostKey());
    fleet.fleet.verify(kept.id()).toCompletableFuture().get();
    assertEquals(confirmed, ask(restarted, r -> new Lease("s1", "standard", far, r)), "the same lease again");
    assertEquals(new LeaseRefused("s2", "runner " + ended.id() + " is not leased to session s2"),
        ask(restarted, r -> new Confirm("s2", ended.id(), r)));
    RunnerInfo other = ((Leased) ask(restarted, r -> new Lease("s3", "standard", far, r))).runner();
    assertNotEquals(kept.id(), other.id(), "never leased twice");
  }
}
