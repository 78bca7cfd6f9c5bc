package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import com.typesafe.config.ConfigFactory;
import dev.offload.ClientError;
import dev.offload.runner.PublishedPort;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.RunnerPool;
import dev.offload.session.SessionEntity.*;
import dev.offload.session.SessionEvent.*;
import dev.offload.session.SessionState.Phase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every transition and every rejected command of lifecycle.md, on a clock moved by hand. */
class SessionEntityTest {

  private static final ActorTestKit TESTKIT =
      ActorTestKit.create(
          ConfigFactory.parseString(
                  "akka.actor.provider = local\n"
                      + "akka.actor.serialization-bindings { \"dev.offload.CborSerializable\" = jackson-cbor }")
              .withFallback(EventSourcedBehaviorTestKit.config()));

  private static final Duration WINDOW = Duration.ofMinutes(5);
  private static final Duration PROVISIONING = Duration.ofMinutes(2);
  private static final Duration LEASE_REPEAT = Duration.ofMillis(300);
  private static final RunnerInfo RUNNER =
      new RunnerInfo("local-1", "standard", "local", "127.0.0.1", 2222, "offload", "ssh-ed25519 AAAA", "unix:///var/run/docker.sock");

  private final ManualClock clock = new ManualClock(Instant.parse("2026-11-28T10:00:00Z"));
  private final Set<String> brokenRunners = ConcurrentHashMap.newKeySet();
  /** Runner checks finish when this completes, so a test can look at the state in between. */
  private volatile CompletableFuture<Void> runnerCheckGate = CompletableFuture.completedFuture(null);
  private TestProbe<RunnerPool.Command> pool;
  private EventSourcedBehaviorTestKit<Command, SessionEvent, SessionState> kit;
  private String sessionId;

  @AfterAll
  static void shutdown() {
    TESTKIT.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    pool = TESTKIT.createTestProbe();
    sessionId = UUID.randomUUID().toString();
    SessionEntity.RunnerCheck check =
        runnerId ->
            brokenRunners.contains(runnerId)
                ? CompletableFuture.failedFuture(new IllegalStateException("connection refused"))
                : runnerCheckGate;
    kit =
        EventSourcedBehaviorTestKit.create(
            TESTKIT.system(),
            SessionEntity.create(
                sessionId, clock, new Timings(WINDOW, PROVISIONING, LEASE_REPEAT), pool.getRef(), check, self -> {}),
            // Events and state are checked here; messages between nodes in SessionSerializationTest.
            EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyCommands(false));
  }

  // ---- helpers ----

  private CommandResultWithReply<Command, SessionEvent, SessionState, Reply> start(int idleTimeout) {
    return kit.<Reply>runCommand(
        replyTo -> new Start("acme", "alice", "standard", idleTimeout, Map.of("team", "a"), replyTo));
  }

  private void awaitPhase(Phase phase) {
    pool.awaitAssert(Duration.ofSeconds(3), () -> {
      assertEquals(phase, kit.getState().phase());
      return null;
    });
  }

  /** Start, lease, verify: the session is Active and, with nothing connected, in its grace period. */
  private void toGracePeriod() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    awaitPhase(Phase.GRACE_PERIOD);
  }

  private void toActive() {
    toGracePeriod();
    kit.<Reply>runCommand(replyTo -> new ConnectionOpened("c1", replyTo));
    assertEquals(Phase.ACTIVE, kit.getState().phase());
  }

  private void toIdle() {
    toGracePeriod();
    clock.advance(Duration.ofSeconds(60));
    kit.runCommand(new DeadlineReached());
    assertEquals(Phase.IDLE, kit.getState().phase());
  }

  private static SessionState stateOf(Reply reply) {
    return ((Accepted) reply).session().state();
  }

  // ---- provisioning ----

  @Test
  void startPersistsRequestAndAsksThePoolForARunner() {
    var result = start(300);
    SessionRequested requested = (SessionRequested) result.event();
    assertEquals("acme", requested.org());
    assertEquals(clock.instant().plus(PROVISIONING), requested.provisioningDeadline());
    assertEquals(Phase.PROVISIONING, result.state().phase());
    assertEquals(Phase.PROVISIONING, stateOf(result.reply()).phase());
    RunnerPool.Lease lease = pool.expectMessageClass(RunnerPool.Lease.class);
    assertEquals(sessionId, lease.sessionId());
    assertEquals("standard", lease.runnerClass());
    assertEquals(requested.provisioningDeadline(), lease.deadline());
  }

  @Test
  void sessionBecomesActiveOnlyAfterItsRunnerIsVerified() {
    runnerCheckGate = new CompletableFuture<>();
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    var assigned = kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    RunnerAssigned event = (RunnerAssigned) assigned.event();
    assertEquals("local-1", event.runnerId());
    assertEquals(Phase.PROVISIONING, assigned.state().phase());
    assertEquals(Phase.PROVISIONING, kit.getState().phase());
    runnerCheckGate.complete(null);
    awaitPhase(Phase.GRACE_PERIOD); // activated, then inactive at once: nothing is connected
    assertNotNull(kit.getState().activatedAt());
    assertEquals(clock.instant().plusSeconds(60), kit.getState().idleAt());
  }

  @Test
  void failedRunnerVerificationTerminatesAndReleasesTheRunner() {
    brokenRunners.add("local-1");
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    awaitPhase(Phase.TERMINATED);
    assertEquals(SessionState.PROVISIONING_FAILED, kit.getState().terminationReason());
    assertEquals(new RunnerPool.Release(sessionId, "local-1"), pool.expectMessageClass(RunnerPool.Release.class));
  }

  @Test
  void leaseRefusedBeforeTheDeadlineIsAProvisioningFailure() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    var result = kit.runCommand(new LeaseAnswered(new RunnerPool.LeaseRefused(sessionId, "runner class gpu is not offered")));
    assertEquals(SessionState.PROVISIONING_FAILED, ((SessionTerminated) result.event()).reason());
    // No runner to release: the release only withdraws the session from the pool's queue.
    assertEquals(new RunnerPool.Release(sessionId, null), pool.expectMessageClass(RunnerPool.Release.class));
  }

  @Test
  void aWaitingSessionRecordsWhyOnceAndKeepsItWhenItTimesOut() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    String refused = "SSH authentication refused by runner vm-a at 10.0.0.5:22 for user offload";
    var told = kit.runCommand(new LeaseAnswered(new RunnerPool.LeaseDelayed(sessionId, "vm-a", refused)));
    assertEquals(new SessionEvent.RunnerFailureReported("vm-a", refused, clock.instant(), told.event().prevHash()),
        told.event());
    assertEquals(Phase.PROVISIONING, told.state().phase());
    assertEquals(new SessionState.RunnerError("vm-a", refused, clock.instant()), told.state().runnerError());
    assertTrue(kit.runCommand(new LeaseAnswered(new RunnerPool.LeaseDelayed(sessionId, "vm-a", refused))).hasNoEvents(),
        "the same failure again is not recorded again");

    clock.advance(PROVISIONING);
    var ended = kit.runCommand(new DeadlineReached());
    assertEquals(SessionState.PROVISIONING_TIMEOUT, ((SessionTerminated) ended.event()).reason());
    assertEquals(refused, ended.state().runnerError().message());
  }

  @Test
  void aRunnerThatVerifiesEndsTheWaitAndItsReason() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    kit.runCommand(new LeaseAnswered(new RunnerPool.LeaseDelayed(sessionId, "vm-a", "SSH authentication refused")));
    assertNotNull(kit.getState().runnerError());
    kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    awaitPhase(Phase.GRACE_PERIOD);
    assertNull(kit.getState().runnerError(), "an active session has no runner error to explain");
  }

  @Test
  void aLostRunnerEndsTheSessionWithTheFailureRecordedFirst() {
    toGracePeriod();
    String changed = "host key verification failed for runner local-1: it presented SHA256:b but SHA256:a is pinned";
    var result = kit.<Reply>runCommand(replyTo -> new RunnerLost("local-1", changed, replyTo));
    assertEquals(2, result.events().size(), result.events().toString());
    assertEquals(changed, ((SessionEvent.RunnerFailureReported) result.events().get(0)).detail());
    SessionTerminated terminated = (SessionTerminated) result.events().get(1);
    assertEquals(SessionState.RUNNER_LOST, terminated.reason());
    assertEquals(EventHash.of(result.events().get(0)), terminated.prevHash(), "one chain through both events");
    assertEquals(changed, stateOf(result.reply()).runnerError().message());
    assertTrue(kit.<Reply>runCommand(replyTo -> new RunnerLost("local-1", changed, replyTo)).hasNoEvents(),
        "a repeated report changes nothing");
  }

  @Test
  void provisioningTimesOutAtItsDeadline() {
    start(60);
    clock.advance(PROVISIONING.minusSeconds(1));
    assertTrue(kit.runCommand(new DeadlineReached()).hasNoEvents(), "not yet due");
    clock.advance(Duration.ofSeconds(1));
    var result = kit.runCommand(new DeadlineReached());
    assertEquals(SessionState.PROVISIONING_TIMEOUT, ((SessionTerminated) result.event()).reason());
    assertEquals(Phase.TERMINATED, result.state().phase());
  }

  @Test
  void aLeaseArrivingAfterTheSessionEndedIsGivenBack() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    assertEquals(new RunnerPool.Release(sessionId, null), pool.expectMessageClass(RunnerPool.Release.class),
        "a stopped session withdraws from the pool's queue");
    var result = kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    assertTrue(result.hasNoEvents());
    assertEquals(new RunnerPool.Release(sessionId, "local-1"), pool.expectMessageClass(RunnerPool.Release.class));
  }

  @Test
  void aWaitingSessionKeepsAskingThePoolUntilItHasARunner() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    // The pool may have restarted and forgotten its in-memory queue: the session asks again.
    assertEquals(sessionId, pool.expectMessageClass(RunnerPool.Lease.class, Duration.ofSeconds(3)).sessionId());
    kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER)));
    awaitPhase(Phase.GRACE_PERIOD);
    pool.expectNoMessage(LEASE_REPEAT.multipliedBy(3));
  }

  @Test
  void resumeDuringTheGracePeriodStartsItAgain() {
    toGracePeriod();
    clock.advance(Duration.ofSeconds(30));
    var result = kit.<Reply>runCommand(Resume::new);
    assertEquals(2, result.events().size());
    assertEquals("api-resume", ((ActivityResumed) result.events().get(0)).reason());
    assertEquals(clock.instant().plusSeconds(60), ((GracePeriodStarted) result.events().get(1)).idleAt());
    assertEquals("api-resume", ((Accepted) result.reply()).session().lastActivityReason());
  }

  @Test
  void provisioningSessionRefusesTunnelsAndResume() {
    start(60);
    var tunnel = kit.<Reply>runCommand(replyTo -> new ConnectionOpened("c1", replyTo));
    assertEquals(ClientError.Code.SESSION_NOT_READY, ((Rejected) tunnel.reply()).code());
    assertTrue(tunnel.hasNoEvents());
    var resume = kit.<Reply>runCommand(Resume::new);
    assertEquals(ClientError.Code.SESSION_NOT_READY, ((Rejected) resume.reply()).code());
  }

  // ---- active and grace period ----

  @Test
  void gracePeriodReturnsToActiveOnActivityAndBackWhenItStops() {
    toGracePeriod();
    var opened = kit.<Reply>runCommand(replyTo -> new ConnectionOpened("c1", replyTo));
    ActivityResumed resumed = (ActivityResumed) opened.event();
    assertEquals("tunnel-connection", resumed.reason());
    assertEquals(Phase.ACTIVE, stateOf(opened.reply()).phase());
    assertEquals(1, ((Accepted) opened.reply()).session().openConnections());

    var closed = kit.runCommand(new ConnectionClosed("c1"));
    GracePeriodStarted grace = (GracePeriodStarted) closed.event();
    assertEquals(clock.instant().plusSeconds(60), grace.idleAt());
  }

  @Test
  void connectionsHeldByATunnelNodeAreRelearnedAfterARestart() {
    toActive();
    kit.restart();
    awaitPhase(Phase.GRACE_PERIOD); // the restarted entity forgot the open connection
    var held = kit.<Reply>runCommand(replyTo -> new ConnectionsHeld(Set.of("c1"), replyTo));
    assertEquals("tunnel-connection", ((ActivityResumed) held.event()).reason());
    assertEquals(1, ((Accepted) held.reply()).session().openConnections());
    assertTrue(kit.<Reply>runCommand(replyTo -> new ConnectionsHeld(Set.of("c1"), replyTo)).hasNoEvents(), "already known");
  }

  @Test
  void aHeldReportThatOvertakesACloseDoesNotReopenTheConnection() {
    toActive();
    assertInstanceOf(GracePeriodStarted.class, kit.runCommand(new ConnectionClosed("c1")).event());
    var late = kit.<Reply>runCommand(replyTo -> new ConnectionsHeld(Set.of("c1"), replyTo));
    assertTrue(late.hasNoEvents());
    assertEquals(0, ((Accepted) late.reply()).session().openConnections());
  }

  @Test
  void bytesKeepASessionBusyForOneSecond() {
    toGracePeriod();
    var bytes = kit.runCommand(new BytesMoved(512));
    assertEquals("tunnel-bytes", ((ActivityResumed) bytes.event()).reason());
    assertTrue(kit.runCommand(new ActivityCheck()).hasNoEvents(), "still within the second");
    clock.advance(Duration.ofSeconds(1));
    assertInstanceOf(GracePeriodStarted.class, kit.runCommand(new ActivityCheck()).event());
  }

  @Test
  void bytesWhileActiveAreNotPersisted() {
    toActive();
    assertTrue(kit.runCommand(new BytesMoved(4096)).hasNoEvents());
  }

  @Test
  void runningContainersKeepTheSessionActive() {
    toGracePeriod();
    var started = kit.runCommand(new ContainerStartedOnRunner("f3a", "nginx:1.27"));
    assertEquals(2, started.events().size());
    assertInstanceOf(ContainerStarted.class, started.events().get(0));
    assertEquals("container-running", ((ActivityResumed) started.events().get(1)).reason());
    assertEquals(1, started.state().containersStarted());

    var stopped = kit.runCommand(new ContainerStoppedOnRunner("f3a"));
    assertEquals(2, stopped.events().size());
    assertInstanceOf(GracePeriodStarted.class, stopped.events().get(1));
    assertTrue(stopped.state().runningContainers().isEmpty());
  }

  @Test
  void publishedPortsAreKeptWhileTheirContainerRunsAndOnlyWhenTheyChange() {
    toActive();
    kit.runCommand(new ContainerStartedOnRunner("f3a", "nginx:1.27"));
    List<PublishedPort> web = List.of(new PublishedPort(8080, 80, "tcp"), new PublishedPort(5353, 53, "udp"));

    var published = kit.runCommand(new PortsPublishedOnRunner("f3a", "web", web));
    assertInstanceOf(PortsPublished.class, published.events().get(0));
    assertEquals(List.of(new SessionState.ContainerPort("f3a", 8080, "tcp", 80, "web"),
        new SessionState.ContainerPort("f3a", 5353, "udp", 53, "web")), published.state().ports());
    assertTrue(published.state().publishesTcp(8080));
    assertFalse(published.state().publishesTcp(5353), "UDP ports are listed, not forwarded");
    assertTrue(kit.runCommand(new PortsPublishedOnRunner("f3a", "web", web)).hasNoEvents(), "the same ports again");
    assertTrue(kit.runCommand(new PortsPublishedOnRunner("c0ffee", "db", List.of(new PublishedPort(5432, 5432, "tcp"))))
        .hasNoEvents(), "a container that is not running here");

    var stopped = kit.runCommand(new ContainerStoppedOnRunner("f3a"));
    assertEquals(List.of(), stopped.state().ports());
    assertFalse(stopped.state().publishesTcp(8080));
    assertTrue(kit.runCommand(new PortsPublishedOnRunner("f3a", "web", web)).hasNoEvents(), "a report after the stop");
  }

  @Test
  void terminationForgetsThePorts() {
    toActive();
    kit.runCommand(new ContainerStartedOnRunner("f3a", "nginx:1.27"));
    kit.runCommand(new PortsPublishedOnRunner("f3a", "web", List.of(new PublishedPort(8080, 80, "tcp"))));
    var stopped = kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    assertEquals(List.of(), ((Accepted) stopped.reply()).session().state().ports());
  }

  @Test
  void gracePeriodEndsInIdleAtIdleAt() {
    toGracePeriod();
    clock.advance(Duration.ofSeconds(59));
    assertTrue(kit.runCommand(new DeadlineReached()).hasNoEvents());
    clock.advance(Duration.ofSeconds(1));
    var result = kit.runCommand(new DeadlineReached());
    SessionIdled idled = (SessionIdled) result.event();
    assertEquals(clock.instant().plus(WINDOW), idled.expiresAt());
    assertEquals(Phase.IDLE, result.state().phase());
    assertEquals("local-1", result.state().runnerId(), "the runner is preserved");
  }

  // ---- idle ----

  @Test
  void resumeOfAnIdleSessionReverifiesTheSameRunner() {
    toIdle();
    runnerCheckGate = new CompletableFuture<>();
    TestProbe<Reply> caller = TESTKIT.createTestProbe();
    kit.runCommand(new Resume(caller.getRef()));
    caller.expectNoMessage(Duration.ofMillis(100)); // answered only after the runner check
    assertEquals(Phase.IDLE, kit.getState().phase());
    runnerCheckGate.complete(null);
    SessionState resumed = stateOf(caller.expectMessageClass(Accepted.class));
    assertEquals(Phase.ACTIVE, resumed.phase());
    assertEquals("local-1", resumed.runnerId(), "the same runner");
    assertTrue(journal().stream().anyMatch(e -> e instanceof SessionResumed r && r.reason().equals("api-resume")));
  }

  @Test
  void aTunnelConnectionResumesAnIdleSession() {
    toIdle();
    kit.<Reply>runCommand(replyTo -> new ConnectionOpened("c2", replyTo));
    awaitPhase(Phase.ACTIVE);
    assertTrue(journal().stream().anyMatch(e -> e instanceof SessionResumed r && r.reason().equals("tunnel-connection")));
  }

  @Test
  void idleSessionWhoseRunnerIsGoneIsTerminatedAsRunnerLost() {
    toIdle();
    brokenRunners.add("local-1");
    kit.<Reply>runCommand(Resume::new);
    awaitPhase(Phase.TERMINATED);
    assertEquals(SessionState.RUNNER_LOST, kit.getState().terminationReason());
  }

  @Test
  void idleSessionIsTerminatedWhenThePreservationWindowEnds() {
    toIdle();
    pool.expectNoMessage(Duration.ofMillis(50));
    clock.advance(WINDOW);
    var result = kit.runCommand(new DeadlineReached());
    assertEquals(SessionState.IDLE_EXPIRED, ((SessionTerminated) result.event()).reason());
    assertEquals(new RunnerPool.Release(sessionId, "local-1"), pool.expectMessageClass(RunnerPool.Release.class));
  }

  // ---- stop and termination ----

  @Test
  void stopFromEveryLiveState() {
    for (Runnable reach : List.<Runnable>of(() -> start(60), this::toActive, this::toGracePeriod, this::toIdle)) {
      setUp();
      reach.run();
      var result = kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
      SessionTerminated terminated = (SessionTerminated) result.event();
      assertEquals(SessionState.STOPPED, terminated.reason());
      assertEquals("alice", terminated.by());
      assertEquals(Phase.TERMINATED, stateOf(result.reply()).phase());
    }
  }

  @Test
  void otherTerminationReasonsFromAnyLiveState() {
    toActive();
    var result = kit.<Reply>runCommand(replyTo -> new Terminate(SessionState.USAGE_LIMIT, "billing", replyTo));
    assertEquals(SessionState.USAGE_LIMIT, ((SessionTerminated) result.event()).reason());
    assertEquals(new RunnerPool.Release(sessionId, "local-1"), pool.expectMessageClass(RunnerPool.Release.class));
  }

  @Test
  void stopOnATerminatedSessionIsIdempotent() {
    toActive();
    kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    var again = kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    assertTrue(again.hasNoEvents());
    assertEquals(Phase.TERMINATED, stateOf(again.reply()).phase());
  }

  @Test
  void commandsRejectedOnATerminatedSessionLeaveTheJournalUnchanged() {
    toActive();
    kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    int before = journal().size();
    for (var result : List.of(
        kit.<Reply>runCommand(Resume::new),
        kit.<Reply>runCommand(replyTo -> new ConnectionOpened("c9", replyTo)),
        kit.<Reply>runCommand(replyTo -> new Terminate(SessionState.DISABLED, "operator", replyTo)))) {
      assertTrue(result.hasNoEvents());
      assertEquals(ClientError.Code.SESSION_TERMINATED, ((Rejected) result.reply()).code());
    }
    assertTrue(kit.runCommand(new ContainerStartedOnRunner("x", "busybox")).hasNoEvents());
    assertEquals(before, journal().size());
    assertEquals(Phase.TERMINATED, kit.getState().phase());
  }

  @Test
  void unknownSessionIsNotFoundAndNothingIsPersisted() {
    var get = kit.<Reply>runCommand(Get::new);
    assertEquals(ClientError.Code.NOT_FOUND, ((Rejected) get.reply()).code());
    var stop = kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    assertTrue(stop.hasNoEvents());
    assertEquals(ClientError.Code.NOT_FOUND, ((Rejected) stop.reply()).code());
  }

  @Test
  void idleTimeoutOutsideTheRangeIsRejectedNotClamped() {
    for (int timeout : new int[] {9, 3601}) {
      var result = start(timeout);
      assertTrue(result.hasNoEvents());
      assertEquals(ClientError.Code.INVALID_ARGUMENT, ((Rejected) result.reply()).code());
    }
    assertEquals(Phase.PROVISIONING, start(10).state().phase());
  }

  // ---- recovery and the chain ----

  @Test
  void recoveryKeepsDeadlinesAndAnActiveSessionWithoutConnectionsBecomesInactive() {
    toActive();
    Instant before = clock.instant();
    clock.advance(Duration.ofSeconds(5));
    kit.restart();
    awaitPhase(Phase.GRACE_PERIOD); // the connection did not survive the restart
    assertEquals(before.plusSeconds(65), kit.getState().idleAt());
    clock.advance(Duration.ofSeconds(60));
    kit.restart();
    kit.runCommand(new DeadlineReached());
    assertEquals(Phase.IDLE, kit.getState().phase());
  }

  @Test
  void aRecoveredSessionWhoseRunnerThePoolNoLongerLeasesEndsAsRunnerLost() {
    toActive();
    kit.restart();
    RunnerPool.Confirm confirm = pool.expectMessageClass(RunnerPool.Confirm.class);
    assertEquals("local-1", confirm.runnerId());
    kit.runCommand(new LeaseAnswered(new RunnerPool.LeaseRefused(sessionId, "runner local-1 is not leased to this session")));
    assertEquals(Phase.TERMINATED, kit.getState().phase());
    assertEquals(SessionState.RUNNER_LOST, kit.getState().terminationReason());
  }

  @Test
  void aConfirmedRunnerChangesNothing() {
    toGracePeriod();
    kit.restart();
    pool.expectMessageClass(RunnerPool.Confirm.class);
    assertTrue(kit.runCommand(new LeaseAnswered(new RunnerPool.Leased(sessionId, RUNNER))).hasNoEvents());
    pool.expectNoMessage(Duration.ofMillis(100));
    assertEquals(Phase.GRACE_PERIOD, kit.getState().phase());
  }

  @Test
  void provisioningSessionAsksAgainForItsRunnerAfterARestart() {
    start(60);
    pool.expectMessageClass(RunnerPool.Lease.class);
    kit.restart();
    assertEquals(sessionId, pool.expectMessageClass(RunnerPool.Lease.class).sessionId());
  }

  @Test
  void everyEventCarriesTheHashOfThePreviousOne() {
    toIdle();
    kit.<Reply>runCommand(replyTo -> new Stop("alice", replyTo));
    List<SessionEvent> events = journal();
    assertTrue(events.size() >= 6);
    assertEquals(EventHash.genesis(sessionId), events.get(0).prevHash());
    for (int i = 1; i < events.size(); i++) {
      assertEquals(EventHash.of(events.get(i - 1)), events.get(i).prevHash(), "event " + i);
    }
  }

  private List<SessionEvent> journal() {
    return kit.persistenceTestKit().persistedInStorage("Session|" + sessionId).stream()
        .map(SessionEvent.class::cast)
        .toList();
  }
}
