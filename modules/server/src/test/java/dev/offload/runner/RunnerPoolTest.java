package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResult;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Event;
import dev.offload.runner.RunnerPool.GetRunners;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseRefused;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.Release;
import dev.offload.runner.RunnerPool.RunnerLeased;
import dev.offload.runner.RunnerPool.RunnerList;
import dev.offload.runner.RunnerPool.RunnerReleased;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RunnerPoolTest {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");
  private static final Instant FAR = T0.plus(Duration.ofHours(1));
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final List<RunnerInfo> OFFERED = Runners.standard(2);

  private static ActorTestKit testKit;
  private EventSourcedBehaviorTestKit<Command, Event, RunnerPoolState> pool;

  @BeforeAll
  static void startSystem() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(EventSourcedBehaviorTestKit.config()));
  }

  @AfterAll
  static void stopSystem() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void startPool() {
    // The clock stands still: lease instants are exact, and deadlines run on real timers from T0.
    pool = EventSourcedBehaviorTestKit.create(
        testKit.system(), RunnerPool.create(() -> OFFERED, Clock.fixed(T0, ZoneOffset.UTC)));
    pool.clear();
  }

  private CommandResultWithReply<Command, Event, RunnerPoolState, LeaseReply> lease(String session) {
    return pool.runCommand(replyTo -> new Lease(session, "standard", FAR, replyTo));
  }

  @Test
  void leasesAFreeRunnerAndPersistsTheLease() {
    var result = lease("s1");

    assertEquals(new Leased("s1", OFFERED.get(0)), result.reply());
    assertEquals(List.of(new RunnerLeased("local-1", "s1", T0)), result.events());
    assertTrue(result.state().holds("s1", "local-1"));
  }

  @Test
  void aSessionAskingAgainGetsTheSameRunner() {
    lease("s1");
    var again = lease("s1");

    assertEquals(new Leased("s1", OFFERED.get(0)), again.reply());
    assertTrue(again.hasNoEvents());
  }

  @Test
  void aClassNotOfferedIsRefusedAtOnce() {
    var result = pool.<LeaseReply>runCommand(replyTo -> new Lease("s1", "gpu", FAR, replyTo));

    assertEquals(
        new LeaseRefused("s1", "runner class gpu is not offered by this control plane"),
        result.reply());
    assertTrue(result.hasNoEvents());
  }

  @Test
  void waitingRequestsAreServedFirstComeFirstServedAsRunnersAreReleased() {
    lease("s1");
    lease("s2");
    TestProbe<LeaseReply> third = testKit.createTestProbe();
    TestProbe<LeaseReply> fourth = testKit.createTestProbe();
    assertTrue(pool.runCommand(new Lease("s3", "standard", FAR, third.ref())).hasNoEvents());
    assertTrue(pool.runCommand(new Lease("s4", "standard", FAR, fourth.ref())).hasNoEvents());

    CommandResult<Command, Event, RunnerPoolState> released =
        pool.runCommand(new Release("s2", "local-2"));

    assertEquals(
        List.of(new RunnerReleased("local-2", "s2", T0), new RunnerLeased("local-2", "s3", T0)),
        released.events());
    third.expectMessage(WAIT, new Leased("s3", OFFERED.get(1)));

    pool.runCommand(new Release("s1", "local-1"));
    // Had s4 been served by the first release, that reply would arrive before this one.
    fourth.expectMessage(WAIT, new Leased("s4", OFFERED.get(0)));
  }

  @Test
  void aSessionAskingAgainWhileWaitingKeepsItsTurn() {
    lease("s1");
    lease("s2");
    TestProbe<LeaseReply> first = testKit.createTestProbe();
    TestProbe<LeaseReply> firstAgain = testKit.createTestProbe();
    TestProbe<LeaseReply> second = testKit.createTestProbe();
    pool.runCommand(new Lease("s3", "standard", FAR, first.ref()));
    pool.runCommand(new Lease("s4", "standard", FAR, second.ref()));
    pool.runCommand(new Lease("s3", "standard", FAR, firstAgain.ref()));

    pool.runCommand(new Release("s1", "local-1"));

    firstAgain.expectMessage(WAIT, new Leased("s3", OFFERED.get(0)));
    assertTrue(pool.getState().leaseOf("s4").isEmpty());
  }

  @Test
  void aWaitingRequestIsRefusedWhenItsDeadlinePasses() {
    lease("s1");
    lease("s2");
    TestProbe<LeaseReply> waiting = testKit.createTestProbe();
    pool.runCommand(new Lease("s3", "standard", T0.plusMillis(200), waiting.ref()));

    waiting.expectMessage(WAIT, new LeaseRefused("s3",
        "no standard runner became free before the provisioning deadline"));
    // Refused requests leave the queue: the next release leaves the runner free.
    assertEquals(List.of(new RunnerReleased("local-1", "s1", T0)),
        pool.runCommand(new Release("s1", "local-1")).events());
  }

  @Test
  void aRequestWhoseDeadlineHasPassedIsRefusedRatherThanQueued() {
    lease("s1");
    lease("s2");
    var late = pool.<LeaseReply>runCommand(replyTo -> new Lease("s3", "standard", T0, replyTo));

    assertInstanceOf(LeaseRefused.class, late.reply());
    assertEquals(List.of(new RunnerReleased("local-1", "s1", T0)),
        pool.runCommand(new Release("s1", "local-1")).events());
  }

  @Test
  void releaseIsIdempotent() {
    lease("s1");

    assertTrue(pool.runCommand(new Release("s9", "local-1")).hasNoEvents(), "not the holder");
    assertTrue(pool.runCommand(new Release("s1", "local-2")).hasNoEvents(), "not leased");
    assertTrue(pool.runCommand(new Release("s1", "nowhere")).hasNoEvents(), "unknown runner");
    assertEquals(1, pool.runCommand(new Release("s1", "local-1")).events().size());
    assertTrue(pool.runCommand(new Release("s1", "local-1")).hasNoEvents(), "released already");
    assertTrue(pool.getState().leases().isEmpty());
  }

  @Test
  void leasesSurviveARestartFromTheJournal() {
    lease("s1");
    lease("s2");
    pool.runCommand(new Release("s1", "local-1"));

    RunnerPoolState recovered = pool.restart().state();

    assertEquals(List.of("s2"), recovered.leases().values().stream().map(RunnerLease::sessionId).toList());
    assertEquals(new Leased("s2", OFFERED.get(1)), lease("s2").reply());
    assertEquals(new Leased("s3", OFFERED.get(0)), lease("s3").reply());
  }

  @Test
  void leasesSurviveARestartFromASnapshot() {
    for (int i = 0; i < 60; i++) {
      lease("s" + i);
      pool.runCommand(new Release("s" + i, "local-1"));
    }
    lease("kept");

    RunnerPoolState recovered = pool.restart().state();

    assertTrue(pool.snapshotTestKit().isPresent());
    assertEquals(1, pool.snapshotTestKit().get().persistedInStorage("runner-pool").size());
    assertTrue(recovered.holds("kept", "local-1"));
    assertEquals(1, recovered.leases().size());
  }

  @Test
  void listsEveryRunnerAsWarmOrLeased() {
    lease("s1");

    RunnerList list = pool.<RunnerList>runCommand(GetRunners::new).reply();

    assertEquals(
        List.of(
            new RunnerPool.RunnerStatus("local-1", "standard", "local", "leased", "s1", T0,
                OFFERED.get(0).hostKeyFingerprint()),
            new RunnerPool.RunnerStatus("local-2", "standard", "local", "warm", null, T0,
                OFFERED.get(1).hostKeyFingerprint())),
        list.runners());
  }

  @Test
  void repliesSurviveTheWire() {
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    RunnerInfo runner = OFFERED.get(0);
    serialization.verifySerialization(new Leased("s1", runner), true);
    serialization.verifySerialization(new LeaseRefused("s1", "why"), true);
    serialization.verifySerialization(new RunnerList(List.of(new RunnerPool.RunnerStatus(
        "local-1", "standard", "local", "warm", null, T0, runner.hostKeyFingerprint()))), true);
  }
}
