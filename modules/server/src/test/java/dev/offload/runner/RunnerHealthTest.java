package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import dev.offload.runner.RunnerPool.RunnerStatus;
import dev.offload.testing.Await;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Health checks on short intervals: a lost leased runner is reported and replaced, a sick warm one replaced. */
class RunnerHealthTest {

  private static final Duration INTERVAL = Duration.ofMillis(200);
  private static final Duration LOST_AFTER = Duration.ofSeconds(1);

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
    fleet = Fleet.start(dataDir, 1, 2, INTERVAL, LOST_AFTER);
    pool = testKit.spawn(RunnerPool.create(fleet.fleet, sessions, Clock.systemUTC()));
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    fleet.close();
  }

  @Test
  void warmAndLeasedRunnersAreCheckedEveryInterval() {
    List<RunnerStatus> checked = awaitRunners(testKit, pool,
        r -> count(r, "warm") == 1 && r.get(0).lastHealthAt() != null, "a health check of the warm runner");
    Instant first = checked.get(0).lastHealthAt();

    awaitRunners(testKit, pool, r -> r.get(0).lastHealthAt().isAfter(first), "the next health check");
    assertTrue(fleet.dockerLog().contains(checked.get(0).id() + " docker info --format {{.ServerVersion}}"),
        fleet.dockerLog().toString());
  }

  @Test
  void aLeasedRunnerThatGoesAwayIsReportedLostAndReplaced() {
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "standard", Instant.now().plusSeconds(60), probe.ref()));
    RunnerInfo runner = probe.expectMessageClass(Leased.class, WAIT).runner();
    awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "a warm spare");

    long killed = System.nanoTime();
    fleet.local.kill(runner.id());
    String lost = Await.until(WAIT, () -> sessions.reports.stream().filter(r -> r.startsWith("lost ")).findFirst(),
        r -> r.isPresent(), "the session told its runner is lost").orElseThrow();
    Duration after = Duration.ofNanos(System.nanoTime() - killed);

    assertTrue(lost.startsWith("lost s1 " + runner.id() + " runner lost: "), lost);
    assertTrue(after.compareTo(LOST_AFTER.plus(INTERVAL).plus(INTERVAL)) <= 0,
        "reported after " + after + ", within runner-lost-after + one interval (+ one interval of scheduling slack)");
    List<RunnerStatus> replaced = awaitRunners(testKit, pool,
        r -> count(r, "warm") == 1 && count(r, "leased") == 0 && r.stream().noneMatch(s -> s.id().equals(runner.id())
            && s.hostKeyFingerprint().equals(runner.hostKeyFingerprint())), "the lost runner replaced");
    assertNotNull(replaced.get(0));
  }

  @Test
  void aWarmRunnerWhoseEngineFailsIsDestroyedAndReplaced() {
    RunnerStatus warm = awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "a warm runner").get(0);
    fleet.touch("engine-down");

    awaitRunners(testKit, pool,
        r -> r.stream().noneMatch(s -> s.hostKeyFingerprint().equals(warm.hostKeyFingerprint())), "the sick runner gone");
    fleet.remove("engine-down");

    List<RunnerStatus> replaced = awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "a warm replacement");
    assertEquals(1, replaced.size());
  }
}
