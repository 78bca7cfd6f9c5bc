package dev.offload.session;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.CommandHandlerWithReplyBuilderByState;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.SignalHandler;
import com.typesafe.config.Config;
import dev.offload.CborSerializable;
import dev.offload.ClientError;
import dev.offload.storage.Database;
import dev.offload.runner.PublishedPort;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.RunnerPool;
import dev.offload.session.SessionState.Phase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.stream.IntStream;

/**
 * One session: the event-sourced state machine of lifecycle.md, one entity per session id,
 * sharded over the cluster. Only transitions are persisted; the activity counters (open tunnel
 * connections, the last bytes) live in memory and are rebuilt by tunnels and runners after a
 * restart. Deadlines are part of the persisted state and re-armed on recovery.
 */
public final class SessionEntity
    extends EventSourcedBehaviorWithEnforcedReplies<
        SessionEntity.Command, SessionEvent, SessionState> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Session");

  /** Fixed for the life of the journal: projections run one instance per tag. */
  public static final List<String> TAGS =
      IntStream.range(0, 8).mapToObj(i -> "session-" + i).toList();

  /** Bytes keep a session busy this long after they crossed (covers short connections). */
  static final Duration BYTES_KEEP_BUSY = Duration.ofSeconds(1);

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  public record Start(
      String org,
      String user,
      String runnerClass,
      int idleTimeoutSeconds,
      Map<String, String> labels,
      ActorRef<Reply> replyTo)
      implements Command {}

  public record Get(ActorRef<Reply> replyTo) implements Command {}

  public record Stop(String by, ActorRef<Reply> replyTo) implements Command {}

  /** {@code POST /resume}: Idle → Active once the runner answers again. */
  public record Resume(ActorRef<Reply> replyTo) implements Command {}

  /** Ends a session for a reason other than the user's stop (usage-limit, runner-lost, disabled). */
  public record Terminate(String reason, String by, ActorRef<Reply> replyTo) implements Command {}

  /**
   * The pool gave up on the session's runner: the session ends as {@code runner-lost}, with
   * {@code detail} (what failed, e.g. both fingerprints of a changed host key) recorded first.
   */
  public record RunnerLost(String runnerId, String detail, ActorRef<Reply> replyTo) implements Command {}

  /** A tunnel connection opened; answered once the session can carry it (resumed if Idle). */
  public record ConnectionOpened(String connectionId, ActorRef<Reply> replyTo) implements Command {}

  public record ConnectionClosed(String connectionId) implements Command {}

  /**
   * Sent each second by a node for the tunnel connections it bridges to this session, answered
   * like {@link Get}: an entity that restarted (failover, rebalance) relearns them within a second.
   */
  public record ConnectionsHeld(Set<String> connectionIds, ActorRef<Reply> replyTo) implements Command {}

  /** Bytes that crossed the tunnel, aggregated by the tunnel (at most one message a second). */
  public record BytesMoved(long bytes) implements Command {}

  public record ContainerStartedOnRunner(String containerId, String image) implements Command {}

  public record ContainerStoppedOnRunner(String containerId) implements Command {}

  /** The ports a running container publishes on the runner, learned after its start. */
  public record PortsPublishedOnRunner(String containerId, String name, List<PublishedPort> ports)
      implements Command {}

  /** Sent by the shard when it passivates a terminated session. */
  public record StopEntity() implements Command {}

  record LeaseAnswered(RunnerPool.LeaseReply reply) implements Command {}

  record RunnerVerified(String runnerId) implements Command {}

  record RunnerCheckFailed(String runnerId, String message) implements Command {}

  record DeadlineReached() implements Command {}

  record ActivityCheck() implements Command {}

  record AskForRunnerAgain() implements Command {}

  public sealed interface Reply extends CborSerializable {}

  public record Accepted(SessionView session) implements Reply {}

  public record Rejected(ClientError.Code code, String message) implements Reply {}

  /** The persisted state and the in-memory activity counters, as the API shows a session. */
  public record SessionView(
      SessionState state, int openConnections, Instant lastActivityAt, String lastActivityReason)
      implements CborSerializable {}

  /** Timings of lifecycle.md that configuration may shorten (tests, demos). */
  public record Timings(Duration preservationWindow, Duration provisioningTimeout, Duration leaseRepeat) {
    public static Timings fromConfig(Config config) {
      return new Timings(
          config.getDuration("offload.session.preservation-window"),
          config.getDuration("offload.session.provisioning-timeout"),
          config.getDuration("offload.session.lease-repeat"));
    }
  }

  /**
   * Proves a runner's SSH connection works before a session becomes (or again is) Active. By id,
   * because a runner's address may change across restarts while its lease does not.
   */
  @FunctionalInterface
  public interface RunnerCheck {
    CompletionStage<Void> verify(String runnerId);
  }

  // ---- wiring ----

  public static void init(
      ActorSystem<?> system,
      Clock clock,
      Timings timings,
      ActorRef<RunnerPool.Command> pool,
      RunnerCheck runnerCheck) {
    // Remembered so that a live session's deadlines keep firing after a restart or failover,
    // without any request reaching it; terminated sessions passivate and are forgotten.
    ClusterSharding.get(system)
        .init(
            Entity.of(
                    ENTITY_KEY,
                    ctx -> {
                      ActorRef<ClusterSharding.ShardCommand> shard = ctx.getShard();
                      return create(
                          ctx.getEntityId(), journalFor(ctx.getEntityId()), clock, timings, pool, runnerCheck,
                          self -> shard.tell(new ClusterSharding.Passivate<>(self)));
                    })
                .withStopMessage(new StopEntity())
                .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
  }

  /** A session on the default journal (unit tests, with their in-memory journal). */
  public static Behavior<Command> create(
      String sessionId,
      Clock clock,
      Timings timings,
      ActorRef<RunnerPool.Command> pool,
      RunnerCheck runnerCheck,
      java.util.function.Consumer<ActorRef<Command>> passivate) {
    return create(sessionId, "", clock, timings, pool, runnerCheck, passivate);
  }

  static Behavior<Command> create(
      String sessionId,
      String journalPluginId,
      Clock clock,
      Timings timings,
      ActorRef<RunnerPool.Command> pool,
      RunnerCheck runnerCheck,
      java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers ->
                    new SessionEntity(
                        sessionId, journalPluginId, ctx, timers, clock, timings, pool, runnerCheck, passivate)));
  }

  /** Sessions are spread over two journals by id; see {@link Database#SECOND_JOURNAL}. */
  public static String journalFor(String sessionId) {
    return Math.floorMod(sessionId.hashCode() / TAGS.size(), 2) == 0 ? Database.JOURNAL : Database.SECOND_JOURNAL;
  }

  /** The session's events in the journal: {@code Session|<id>}. */
  public static PersistenceId persistenceId(String sessionId) {
    return PersistenceId.of(ENTITY_KEY.name(), sessionId);
  }

  public static String tagFor(String sessionId) {
    return TAGS.get(Math.floorMod(sessionId.hashCode(), TAGS.size()));
  }

  // ---- behaviour ----

  private final String sessionId;
  private final String journalPluginId;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Clock clock;
  private final Timings timings;
  private final ActorRef<RunnerPool.Command> pool;
  private final RunnerCheck runnerCheck;
  private final java.util.function.Consumer<ActorRef<Command>> passivate;
  private final ActorRef<RunnerPool.LeaseReply> leaseReplies;

  // In-memory activity (lifecycle.md: counters are not persisted, only transitions).
  private final Set<String> openConnections = new HashSet<>();
  /** A held-connections report may overtake the close of one of them: closed ids stay closed. */
  private final Set<String> recentlyClosed = java.util.Collections.newSetFromMap(new java.util.LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > 1024;
    }
  });
  private Instant lastBytesAt;
  private Instant lastActivityAt;
  private String lastActivityReason;
  /** Callers waiting for an Idle session to resume; non-empty means a runner check is running. */
  private final List<ActorRef<Reply>> waitingForResume = new ArrayList<>();
  private String pendingResumeReason;

  private SessionEntity(
      String sessionId,
      String journalPluginId,
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      Clock clock,
      Timings timings,
      ActorRef<RunnerPool.Command> pool,
      RunnerCheck runnerCheck,
      java.util.function.Consumer<ActorRef<Command>> passivate) {
    super(persistenceId(sessionId));
    this.sessionId = sessionId;
    this.journalPluginId = journalPluginId;
    this.ctx = ctx;
    this.timers = timers;
    this.clock = clock;
    this.timings = timings;
    this.pool = pool;
    this.runnerCheck = runnerCheck;
    this.passivate = passivate;
    this.leaseReplies = ctx.messageAdapter(RunnerPool.LeaseReply.class, LeaseAnswered::new);
  }

  @Override
  public SessionState emptyState() {
    return SessionState.empty(sessionId);
  }

  @Override
  public String journalPluginId() {
    return journalPluginId;
  }

  @Override
  public Set<String> tagsFor(SessionEvent event) {
    return Set.of(tagFor(sessionId));
  }

  @Override
  public EventHandler<SessionState, SessionEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(SessionState::apply);
  }

  @Override
  public SignalHandler<SessionState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::onRecovered).build();
  }

  /** Deadlines come back from the journal, never from timers that died with the old node. */
  private void onRecovered(SessionState state) {
    switch (state.phase()) {
      case NEW -> {}
      case PROVISIONING -> {
        if (state.hasRunner()) verify(state.runnerId()); // assigned before the restart
        else askForRunner(state);
        armDeadline(state);
      }
      // No connection survived the restart: an Active session is inactive at recovery time.
      case ACTIVE -> {
        confirmRunner(state);
        ctx.getSelf().tell(new ActivityCheck());
      }
      case GRACE_PERIOD, IDLE -> {
        confirmRunner(state);
        armDeadline(state);
      }
      case TERMINATED -> {
        releaseRunner(state);
        passivate.accept(ctx.getSelf());
      }
    }
  }

  @Override
  public CommandHandlerWithReply<Command, SessionEvent, SessionState> commandHandler() {
    CommandHandlerWithReplyBuilderByState<Command, SessionEvent, SessionState, SessionState> any =
        newCommandHandlerWithReplyBuilder().forAnyState();
    any.onCommand(StopEntity.class, (s, c) -> Effect().stop().thenNoReply());
    any.onCommand(Get.class, (s, c) -> s.isNew() ? notFound(c.replyTo()) : reply(c.replyTo(), s));
    any.onCommand(Start.class, this::onStart);
    any.onCommand(Stop.class, (s, c) -> onStop(s, c));
    any.onCommand(Terminate.class, this::onTerminate);
    any.onCommand(RunnerLost.class, this::onRunnerLost);
    any.onCommand(Resume.class, this::onResume);
    any.onCommand(ConnectionOpened.class, this::onConnectionOpened);
    any.onCommand(ConnectionClosed.class, this::onConnectionClosed);
    any.onCommand(ConnectionsHeld.class, this::onConnectionsHeld);
    any.onCommand(BytesMoved.class, this::onBytesMoved);
    any.onCommand(ContainerStartedOnRunner.class, this::onContainerStarted);
    any.onCommand(ContainerStoppedOnRunner.class, this::onContainerStopped);
    any.onCommand(PortsPublishedOnRunner.class, (s, c) -> s.portsPublished(c.containerId(), c.name(), c.ports(), now())
        .map(event -> Effect().persist(event).thenNoReply())
        .orElseGet(() -> Effect().noReply()));
    any.onCommand(LeaseAnswered.class, this::onLeaseAnswered);
    any.onCommand(RunnerVerified.class, this::onRunnerVerified);
    any.onCommand(RunnerCheckFailed.class, this::onRunnerCheckFailed);
    any.onCommand(DeadlineReached.class, this::onDeadlineReached);
    any.onCommand(ActivityCheck.class, (s, c) -> reconsiderActivity(s, null));
    any.onCommand(AskForRunnerAgain.class, (s, c) -> {
      askForRunner(s);
      return Effect().noReply();
    });
    return any.build();
  }

  private ReplyEffect<SessionEvent, SessionState> onStart(SessionState s, Start c) {
    if (!s.isNew()) return reply(c.replyTo(), s); // same id again: the session already exists
    if (c.idleTimeoutSeconds() < 10 || c.idleTimeoutSeconds() > 3600) {
      return Effect()
          .reply(
              c.replyTo(),
              new Rejected(
                  ClientError.Code.INVALID_ARGUMENT,
                  "idleTimeoutSeconds must be between 10 and 3600"));
    }
    SessionEvent requested =
        s.requested(
            c.org(), c.user(), c.runnerClass(), c.idleTimeoutSeconds(),
            c.labels() == null ? Map.of() : c.labels(), timings.provisioningTimeout(), now());
    return Effect()
        .persist(requested)
        .thenRun(this::askForRunner)
        .thenRun(this::armDeadline)
        .thenReply(c.replyTo(), this::accepted);
  }

  private ReplyEffect<SessionEvent, SessionState> onStop(SessionState s, Stop c) {
    if (s.isNew()) return notFound(c.replyTo());
    if (s.isTerminated()) return reply(c.replyTo(), s); // idempotent, no new event
    return terminate(s, SessionState.STOPPED, c.by(), c.replyTo());
  }

  private ReplyEffect<SessionEvent, SessionState> onTerminate(SessionState s, Terminate c) {
    if (s.isNew()) return notFound(c.replyTo());
    if (s.isTerminated()) return terminatedRejection(c.replyTo());
    return terminate(s, c.reason(), c.by(), c.replyTo());
  }

  private ReplyEffect<SessionEvent, SessionState> onRunnerLost(SessionState s, RunnerLost c) {
    if (s.isNew()) return notFound(c.replyTo());
    if (s.isTerminated() || !c.runnerId().equals(s.runnerId())) return reply(c.replyTo(), s);
    return terminateExplained(s, c.runnerId(), c.detail(), SessionState.RUNNER_LOST, "runner-pool", c.replyTo());
  }

  private ReplyEffect<SessionEvent, SessionState> onResume(SessionState s, Resume c) {
    return switch (s.phase()) {
      case NEW -> notFound(c.replyTo());
      case PROVISIONING -> notReady(c.replyTo());
      case TERMINATED -> terminatedRejection(c.replyTo());
      case IDLE -> resumeIdle(s, "api-resume", c.replyTo());
      case ACTIVE -> reply(c.replyTo(), s);
      case GRACE_PERIOD -> {
        // Resuming is activity: the grace period starts again from now (unless now busy).
        noteActivity("api-resume");
        SessionEvent resumed = s.activityResumed("api-resume", now());
        SessionState after = s.apply(resumed);
        List<SessionEvent> events = new ArrayList<>(List.of(resumed));
        if (!busy(after)) events.add(after.gracePeriodStarted(now()));
        yield Effect().persist(events).thenRun(this::armDeadline).thenReply(c.replyTo(), this::accepted);
      }
    };
  }

  private ReplyEffect<SessionEvent, SessionState> onConnectionOpened(
      SessionState s, ConnectionOpened c) {
    return switch (s.phase()) {
      case NEW -> notFound(c.replyTo());
      case PROVISIONING -> notReady(c.replyTo());
      case TERMINATED -> terminatedRejection(c.replyTo());
      case IDLE -> {
        openConnections.add(c.connectionId());
        yield resumeIdle(s, "tunnel-connection", c.replyTo());
      }
      case ACTIVE, GRACE_PERIOD -> {
        openConnections.add(c.connectionId());
        noteActivity("tunnel-connection");
        yield reconsiderActivity(s, c.replyTo());
      }
    };
  }

  private ReplyEffect<SessionEvent, SessionState> onConnectionsHeld(SessionState s, ConnectionsHeld c) {
    if (s.isNew()) return notFound(c.replyTo());
    boolean learned = false;
    if (s.isRunning()) {
      for (String id : c.connectionIds()) {
        if (!recentlyClosed.contains(id) && openConnections.add(id)) learned = true;
      }
    }
    if (!learned) return reply(c.replyTo(), s);
    noteActivity("tunnel-connection");
    return reconsiderActivity(s, c.replyTo());
  }

  private ReplyEffect<SessionEvent, SessionState> onConnectionClosed(
      SessionState s, ConnectionClosed c) {
    recentlyClosed.add(c.connectionId());
    openConnections.remove(c.connectionId());
    return reconsiderActivity(s, null);
  }

  private ReplyEffect<SessionEvent, SessionState> onBytesMoved(SessionState s, BytesMoved c) {
    if (!s.isRunning() || c.bytes() <= 0) return Effect().noReply();
    lastBytesAt = now();
    noteActivity("tunnel-bytes");
    return reconsiderActivity(s, null);
  }

  private ReplyEffect<SessionEvent, SessionState> onContainerStarted(
      SessionState s, ContainerStartedOnRunner c) {
    if (s.phase() == Phase.IDLE) {
      // A container started on an idle runner is activity: record it, then resume.
      return Effect()
          .persist(s.containerStarted(c.containerId(), c.image(), now()))
          .thenRun(after -> ctx.getSelf().tell(new Resume(ctx.getSystem().ignoreRef())))
          .thenNoReply();
    }
    if (!s.isRunning() || s.runningContainers().containsKey(c.containerId())) {
      return Effect().noReply();
    }
    noteActivity("container-running");
    SessionEvent started = s.containerStarted(c.containerId(), c.image(), now());
    SessionState after = s.apply(started);
    List<SessionEvent> events = new ArrayList<>(List.of(started));
    after.onActivity(true, "container-running", now()).ifPresent(events::add);
    return Effect().persist(events).thenRun(this::armDeadline).thenNoReply();
  }

  private ReplyEffect<SessionEvent, SessionState> onContainerStopped(
      SessionState s, ContainerStoppedOnRunner c) {
    if (!s.runningContainers().containsKey(c.containerId())) return Effect().noReply();
    SessionEvent stopped = s.containerStopped(c.containerId(), now());
    SessionState after = s.apply(stopped);
    List<SessionEvent> events = new ArrayList<>(List.of(stopped));
    if (after.isRunning() && !busy(after)) {
      after.onActivity(false, null, now()).ifPresent(events::add);
    }
    return Effect().persist(events).thenRun(this::armDeadline).thenNoReply();
  }

  private ReplyEffect<SessionEvent, SessionState> onLeaseAnswered(SessionState s, LeaseAnswered c) {
    if (c.reply() instanceof RunnerPool.Leased leased) {
      RunnerInfo runner = leased.runner();
      if (s.phase() != Phase.PROVISIONING
          || (s.hasRunner() && !s.runnerId().equals(runner.id()))) {
        // Too late (stopped or timed out meanwhile) or a duplicate: give it straight back.
        if (!runner.id().equals(s.runnerId()) || s.isTerminated()) {
          pool.tell(new RunnerPool.Release(sessionId, runner.id()));
        }
        return Effect().noReply();
      }
      if (s.hasRunner()) return Effect().noReply(); // a repeated answer: already being verified
      return Effect()
          .persist(
              s.runnerAssigned(
                  runner.id(), runner.runnerClass(), runner.host() + ":" + runner.port(), now()))
          .thenRun(after -> verify(runner.id()))
          .thenNoReply();
    }
    if (c.reply() instanceof RunnerPool.LeaseDelayed delayed) {
      // Still waiting, now with a reason the API, the CLI and diagnose can show.
      if (s.phase() != Phase.PROVISIONING || s.hasRunner()) return Effect().noReply();
      return s.runnerFailed(delayed.runnerId(), delayed.reason(), now())
          .map(event -> Effect().persist(event).thenNoReply())
          .orElseGet(() -> Effect().noReply());
    }
    RunnerPool.LeaseRefused refused = (RunnerPool.LeaseRefused) c.reply();
    if (s.isRunning() || s.phase() == Phase.IDLE) {
      // The answer to a Confirm after a restart: the pool no longer leases this runner to us.
      ctx.getLog().warn("Session {}: runner {} is gone ({})", sessionId, s.runnerId(), refused.reason());
      return terminateExplained(s, s.runnerId(), refused.reason(), SessionState.RUNNER_LOST, "runner-pool", null);
    }
    if (s.phase() != Phase.PROVISIONING) return Effect().noReply();
    ctx.getLog().info("Session {}: no runner ({})", sessionId, refused.reason());
    boolean timedOut = !now().isBefore(s.provisioningDeadline());
    return terminate(
        s,
        timedOut ? SessionState.PROVISIONING_TIMEOUT : SessionState.PROVISIONING_FAILED,
        "system",
        null);
  }

  private ReplyEffect<SessionEvent, SessionState> onRunnerVerified(
      SessionState s, RunnerVerified c) {
    if (!c.runnerId().equals(s.runnerId())) return Effect().noReply();
    if (s.phase() == Phase.PROVISIONING) {
      return Effect()
          .persist(s.activated(now()))
          .thenRun(after -> ctx.getSelf().tell(new ActivityCheck()))
          .thenNoReply();
    }
    if (s.phase() == Phase.IDLE && !waitingForResume.isEmpty()) {
      noteActivity(pendingResumeReason);
      List<ActorRef<Reply>> waiting = List.copyOf(waitingForResume);
      waitingForResume.clear();
      return Effect()
          .persist(s.resumed(pendingResumeReason, now()))
          .thenRun(this::armDeadline)
          .thenRun(after -> waiting.forEach(r -> r.tell(accepted(after))))
          .thenRun(after -> ctx.getSelf().tell(new ActivityCheck()))
          .thenNoReply();
    }
    return Effect().noReply();
  }

  private ReplyEffect<SessionEvent, SessionState> onRunnerCheckFailed(
      SessionState s, RunnerCheckFailed c) {
    if (!c.runnerId().equals(s.runnerId()) || s.isTerminated()) return Effect().noReply();
    ctx.getLog().warn("Session {}: runner {} failed its check: {}", sessionId, s.runnerId(), c.message());
    String reason =
        s.phase() == Phase.PROVISIONING ? SessionState.PROVISIONING_FAILED : SessionState.RUNNER_LOST;
    return terminateExplained(s, c.runnerId(), c.message(), reason, "system", null);
  }

  private ReplyEffect<SessionEvent, SessionState> onDeadlineReached(
      SessionState s, DeadlineReached c) {
    Optional<SessionEvent> due = s.onDeadline(timings.preservationWindow(), now());
    if (due.isEmpty()) {
      armDeadline(s); // woken early (clock skew between timer and clock): sleep again
      return Effect().noReply();
    }
    SessionEvent event = due.get();
    if (event instanceof SessionEvent.SessionTerminated t) {
      return terminate(s, t.reason(), "system", null);
    }
    return Effect().persist(event).thenRun(this::armDeadline).thenNoReply();
  }

  // ---- helpers ----

  private ReplyEffect<SessionEvent, SessionState> terminate(
      SessionState s, String reason, String by, ActorRef<Reply> replyTo) {
    return terminate(s, List.of(), reason, by, replyTo);
  }

  /** Ends the session with the runner failure that caused it recorded first, in the same write. */
  private ReplyEffect<SessionEvent, SessionState> terminateExplained(
      SessionState s, String runnerId, String detail, String reason, String by, ActorRef<Reply> replyTo) {
    List<SessionEvent> explained = runnerId == null || detail == null
        ? List.of()
        : s.runnerFailed(runnerId, detail, now()).map(List::of).orElse(List.of());
    return terminate(s, explained, reason, by, replyTo);
  }

  private ReplyEffect<SessionEvent, SessionState> terminate(
      SessionState s, List<SessionEvent> before, String reason, String by, ActorRef<Reply> replyTo) {
    List<ActorRef<Reply>> waiting = List.copyOf(waitingForResume);
    waitingForResume.clear();
    openConnections.clear();
    SessionState last = s;
    for (SessionEvent event : before) last = last.apply(event);
    List<SessionEvent> events = new ArrayList<>(before);
    events.add(last.terminated(reason, by, now()));
    var effect =
        Effect()
            .persist(events)
            .thenRun(this::armDeadline)
            .thenRun(this::releaseRunner)
            .thenRun(after -> waiting.forEach(this::terminatedRejectionTo))
            .thenRun(after -> passivate.accept(ctx.getSelf()));
    return replyTo == null ? effect.thenNoReply() : effect.thenReply(replyTo, this::accepted);
  }

  private ReplyEffect<SessionEvent, SessionState> resumeIdle(
      SessionState s, String reason, ActorRef<Reply> replyTo) {
    if (waitingForResume.isEmpty()) {
      pendingResumeReason = reason;
      verify(s.runnerId());
    }
    waitingForResume.add(replyTo);
    return Effect().noReply();
  }

  /**
   * Persists the transition a change in activity causes, and otherwise makes sure the session
   * looks again when the last bytes stop counting as activity.
   */
  private ReplyEffect<SessionEvent, SessionState> reconsiderActivity(
      SessionState s, ActorRef<Reply> replyTo) {
    boolean busy = busy(s);
    Optional<SessionEvent> transition = s.onActivity(busy, lastActivityReason, now());
    if (busy && lastBytesAt != null && openConnections.isEmpty() && s.runningContainers().isEmpty()) {
      Duration untilQuiet = Duration.between(now(), lastBytesAt.plus(BYTES_KEEP_BUSY));
      timers.startSingleTimer("activity", new ActivityCheck(), positive(untilQuiet));
    }
    if (transition.isEmpty()) {
      return replyTo == null ? Effect().noReply() : reply(replyTo, s);
    }
    var effect = Effect().persist(transition.get()).thenRun(this::armDeadline);
    return replyTo == null ? effect.thenNoReply() : effect.thenReply(replyTo, this::accepted);
  }

  private boolean busy(SessionState s) {
    return !openConnections.isEmpty()
        || !s.runningContainers().isEmpty()
        || (lastBytesAt != null && now().isBefore(lastBytesAt.plus(BYTES_KEEP_BUSY)));
  }

  private void noteActivity(String reason) {
    lastActivityAt = now();
    lastActivityReason = reason;
  }

  private void askForRunner(SessionState s) {
    if (s.phase() == Phase.PROVISIONING && !s.hasRunner()) {
      pool.tell(
          new RunnerPool.Lease(sessionId, s.runnerClass(), s.provisioningDeadline(), leaseReplies));
      timers.startSingleTimer("lease", new AskForRunnerAgain(), timings.leaseRepeat());
    }
  }

  /** After a restart, the pool says whether it still leases this runner to this session. */
  private void confirmRunner(SessionState s) {
    pool.tell(new RunnerPool.Confirm(sessionId, s.runnerId(), leaseReplies));
  }

  private void verify(String runnerId) {
    ctx.pipeToSelf(
        runnerCheck.verify(runnerId),
        (ok, failure) ->
            failure == null
                ? new RunnerVerified(runnerId)
                : new RunnerCheckFailed(runnerId, rootMessage(failure)));
  }

  /** Without a runner yet, the release withdraws the session from the pool's queue. */
  private void releaseRunner(SessionState s) {
    if (s.isTerminated()) {
      pool.tell(new RunnerPool.Release(sessionId, s.runnerId()));
    }
  }

  private void armDeadline(SessionState s) {
    Optional<Instant> deadline = s.deadline();
    if (deadline.isPresent()) {
      timers.startSingleTimer(
          "deadline", new DeadlineReached(), positive(Duration.between(now(), deadline.get())));
    } else {
      timers.cancel("deadline");
    }
  }

  /** Events carry millisecond precision (lifecycle.md). */
  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  private static Duration positive(Duration d) {
    return d.isNegative() ? Duration.ZERO : d;
  }

  /** The failure's own words: a runner check already says what failed and what to do. */
  private static String rootMessage(Throwable t) {
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) t = t.getCause();
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  private Accepted accepted(SessionState s) {
    return new Accepted(
        new SessionView(s, openConnections.size(), lastActivityAt, lastActivityReason));
  }

  private ReplyEffect<SessionEvent, SessionState> reply(ActorRef<Reply> to, SessionState s) {
    return Effect().reply(to, accepted(s));
  }

  private ReplyEffect<SessionEvent, SessionState> notFound(ActorRef<Reply> to) {
    passivate.accept(ctx.getSelf()); // nothing to remember about an id that was never started
    return Effect()
        .reply(to, new Rejected(ClientError.Code.NOT_FOUND, "session " + sessionId + " not found"));
  }

  private ReplyEffect<SessionEvent, SessionState> notReady(ActorRef<Reply> to) {
    return Effect()
        .reply(
            to,
            new Rejected(
                ClientError.Code.SESSION_NOT_READY,
                "session " + sessionId + " is still provisioning; wait until it is active"));
  }

  private ReplyEffect<SessionEvent, SessionState> terminatedRejection(ActorRef<Reply> to) {
    return Effect().reply(to, terminatedRejectionMessage());
  }

  private void terminatedRejectionTo(ActorRef<Reply> to) {
    to.tell(terminatedRejectionMessage());
  }

  private Rejected terminatedRejectionMessage() {
    return new Rejected(
        ClientError.Code.SESSION_TERMINATED,
        "session " + sessionId + " is terminated; start a new one with offload start");
  }
}
