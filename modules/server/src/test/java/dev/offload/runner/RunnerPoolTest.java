package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Drain;
import dev.offload.runner.RunnerPool.DrainReply;
import dev.offload.runner.RunnerPool.Draining;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseRefused;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.NotFound;
import dev.offload.runner.RunnerPool.Release;
import dev.offload.runner.RunnerPool.RunnerList;
import dev.offload.runner.RunnerPool.RunnerStatus;
import dev.offload.testing.Await;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pool against real local runners over SSH, with a recording docker, on the in-memory journal. */
class RunnerPoolTest {

  private static final Instant FAR = Instant.now().plus(Duration.ofHours(1));

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private Fleet fleet;
  private final Sessions sessions = new Sessions();

  @BeforeEach
  void startSystem() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    if (fleet != null) {
      fleet.close();
    }
  }

  private ActorRef<Command> pool(int minWarm, int max) {
    fleet = Fleet.start(dataDir, minWarm, max);
    return testKit.spawn(RunnerPool.create(fleet.fleet, sessions, Clock.systemUTC()));
  }

  private Leased lease(ActorRef<Command> pool, String session) {
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease(session, "standard", FAR, probe.ref()));
    return probe.expectMessageClass(Leased.class, WAIT);
  }

  @Test
  void keepsMinWarmVerifiedRunnersAndRefillsAfterALease() {
    ActorRef<Command> pool = pool(3, 5);

    List<RunnerStatus> warm = awaitRunners(testKit, pool, r -> count(r, "warm") == 3, "three warm runners");
    assertEquals(List.of("local-1", "local-2", "local-3"), warm.stream().map(RunnerStatus::id).toList());
    Leased leased = lease(pool, "s1");
    fleet.fleet.verify(leased.runner().id(), pool, testKit.system()).toCompletableFuture().join();

    List<RunnerStatus> after = awaitRunners(testKit, pool,
        r -> count(r, "warm") == 3 && count(r, "leased") == 1, "three warm runners again and one leased");
    assertEquals(4, after.size());
  }

  @Test
  void aReleasedRunnerIsWipedInOrderAndOnlyThenLeasedAgain() {
    ActorRef<Command> pool = pool(1, 1);
    RunnerInfo runner = lease(pool, "s1").runner();
    fleet.touch("hold-wipe");

    pool.tell(new Release("s1", runner.id()));
    TestProbe<LeaseReply> next = testKit.createTestProbe();
    pool.tell(new Lease("s2", "standard", FAR, next.ref()));
    awaitRunners(testKit, pool, r -> count(r, "wiping") == 1, "the runner wiping");
    next.expectNoMessage(Duration.ofMillis(300));
    fleet.remove("hold-wipe");

    assertEquals(new Leased("s2", runner), next.expectMessageClass(Leased.class, WAIT));
    assertEquals(List.of("local-1 docker ps -aq", "local-1 docker rm -f", "local-1 docker system prune -af --volumes"),
        fleet.dockerLog().stream().filter(l -> l.matches(".* docker (ps -aq|rm .*|system .*)")).toList());
  }

  @Test
  void aFailingWipeDestroysTheRunnerAndProvisionsAReplacement() {
    ActorRef<Command> pool = pool(1, 1);
    RunnerInfo runner = lease(pool, "s1").runner();
    fleet.touch("wipe-fails");

    pool.tell(new Release("s1", runner.id()));

    awaitRunners(testKit, pool, r -> r.size() == 1 && count(r, "warm") == 1
        && !r.get(0).hostKeyFingerprint().equals(runner.hostKeyFingerprint()), "a new warm runner");
    RunnerInfo replacement = lease(pool, "s2").runner();
    assertNotEquals(runner.hostKey(), replacement.hostKey());
  }

  @Test
  void waitingRequestsAreServedFirstComeFirstServed() {
    ActorRef<Command> pool = pool(1, 1);
    RunnerInfo runner = lease(pool, "s1").runner();
    TestProbe<LeaseReply> second = testKit.createTestProbe();
    TestProbe<LeaseReply> third = testKit.createTestProbe();
    pool.tell(new Lease("s2", "standard", FAR, second.ref()));
    pool.tell(new Lease("s3", "standard", FAR, third.ref()));

    pool.tell(new Release("s1", runner.id()));

    assertEquals(new Leased("s2", runner), second.expectMessageClass(Leased.class, WAIT));
    third.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aWaitingRequestIsRefusedWhenItsDeadlinePasses() {
    ActorRef<Command> pool = pool(1, 1);
    lease(pool, "s1");
    TestProbe<LeaseReply> waiting = testKit.createTestProbe();

    pool.tell(new Lease("s2", "standard", Instant.now().plusMillis(200), waiting.ref()));

    waiting.expectMessage(WAIT, new LeaseRefused("s2",
        "no standard runner became free before the provisioning deadline"));
  }

  @Test
  void aClassNotOfferedIsRefusedAndReleaseIsIdempotent() {
    ActorRef<Command> pool = pool(1, 1);
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "gpu", FAR, probe.ref()));
    probe.expectMessage(WAIT, new LeaseRefused("s1", "runner class gpu is not offered by this control plane"));

    RunnerInfo runner = lease(pool, "s1").runner();
    pool.tell(new Release("s9", runner.id()));
    pool.tell(new Release("s1", "nowhere"));
    assertEquals(new Leased("s1", runner), lease(pool, "s1"), "still held, the same runner again");
    pool.tell(new Release("s1", runner.id()));
    pool.tell(new Release("s1", runner.id()));

    awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "the runner warm again");
    assertEquals(1, fleet.dockerLog().stream().filter(l -> l.contains("prune")).count(), "wiped once");
  }

  @Test
  void confirmAnswersWhetherTheRunnerIsStillTheSessions() {
    ActorRef<Command> pool = pool(1, 2);
    RunnerInfo runner = lease(pool, "s1").runner();
    TestProbe<LeaseReply> probe = testKit.createTestProbe();

    pool.tell(new RunnerPool.Confirm("s1", runner.id(), probe.ref()));
    assertEquals(new Leased("s1", runner), probe.expectMessageClass(Leased.class, WAIT));
    pool.tell(new RunnerPool.Confirm("s2", runner.id(), probe.ref()));
    assertEquals(new LeaseRefused("s2", "runner " + runner.id() + " is not leased to session s2"),
        probe.expectMessageClass(LeaseRefused.class, WAIT));
    pool.tell(new RunnerPool.Confirm("s1", "local-9", probe.ref()));
    assertEquals(new LeaseRefused("s1", "runner local-9 is no longer known to the runner pool"),
        probe.expectMessageClass(LeaseRefused.class, WAIT));
  }

  @Test
  void aDrainedRunnerIsNeverLeasedAgainAndIsDestroyedOnceFree() {
    ActorRef<Command> pool = pool(1, 2);
    RunnerInfo runner = lease(pool, "s1").runner();
    TestProbe<DrainReply> drains = testKit.createTestProbe();

    pool.tell(new Drain(runner.id(), drains.ref()));
    drains.expectMessage(WAIT, new Draining(runner.id()));
    pool.tell(new Drain("local-9", drains.ref()));
    drains.expectMessage(WAIT, new NotFound("local-9"));
    assertTrue(Fleet.runners(testKit, pool).stream().anyMatch(r -> r.id().equals(runner.id()) && r.draining()));

    pool.tell(new Release("s1", runner.id()));

    awaitRunners(testKit, pool, r -> r.stream().noneMatch(s -> s.hostKeyFingerprint().equals(runner.hostKeyFingerprint())),
        "the drained runner gone");
    assertNotEquals(runner.hostKey(), lease(pool, "s2").runner().hostKey());
  }

  @Test
  void aLeaseOnARunnerThePoolNoLongerKnowsIsReportedLostAndEnded() {
    PersistenceTestKit.create(testKit.system()).persistForRecovery("runner-pool",
        List.of(new RunnerPool.RunnerLeased("local-7", "s1", Instant.parse("2026-11-28T10:00:00Z"))));
    ActorRef<Command> pool = pool(1, 1);

    Await.until(WAIT, () -> List.copyOf(sessions.reports), r -> !r.isEmpty(), "a report to s1");
    assertEquals(List.of("lost s1 local-7 runner local-7 is no longer known to the runner pool"), sessions.reports);
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new RunnerPool.Confirm("s1", "local-7", probe.ref()));
    probe.expectMessage(WAIT, new LeaseRefused("s1", "runner local-7 is no longer known to the runner pool"));
    assertEquals("local-1", lease(pool, "s1").runner().id(), "the session holds nothing any more");
  }

  @Test
  void aNodeThatDoesNotKnowARunnerAsksThePoolBeforeVerifyingIt() throws Exception {
    ActorRef<Command> pool = pool(1, 1);
    RunnerInfo runner = lease(pool, "s1").runner();
    SshConnections ssh = new SshConnections(LocalRunners.clientKeyPath(dataDir), WAIT, ForkJoinPool.commonPool());
    try (RunnerFleet otherNode = new RunnerFleet(fleet.fleet.settings(), Map.of("local", fleet.local), ssh,
        ForkJoinPool.commonPool(), ssh::close)) {
      assertEquals(java.util.Optional.of(runner), otherNode.find(runner.id(), pool, testKit.system())
          .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS), "the pool's answer");

      otherNode.verify(runner.id(), pool, testKit.system()).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

      ExecutionException unknown = assertThrows(ExecutionException.class, () -> otherNode
          .verify("local-9", pool, testKit.system()).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertEquals("runner local-9 is not known to this control plane", unknown.getCause().getMessage());
    }
  }

  @Test
  void repliesSurviveTheWire() {
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    RunnerInfo runner = Runners.runner("local-1", "standard");
    serialization.verifySerialization(new Leased("s1", runner), true);
    serialization.verifySerialization(new LeaseRefused("s1", "why"), true);
    serialization.verifySerialization(new Draining("local-1"), true);
    serialization.verifySerialization(new NotFound("local-1"), true);
    serialization.verifySerialization(new RunnerPool.RunnerFound("local-1", runner), true);
    serialization.verifySerialization(new RunnerPool.RunnerFound("local-9", null), true);
    serialization.verifySerialization(new RunnerList(List.of(new RunnerStatus("local-1", "standard", "local",
        "warm", null, Instant.parse("2026-11-28T10:00:00Z"), runner.hostKeyFingerprint(),
        Instant.parse("2026-11-28T10:00:10Z"), false, null))), true);
  }
}
