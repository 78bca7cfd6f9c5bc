package dev.offload.runner;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.Effect;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.RetentionCriteria;
import dev.offload.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The cluster's one runner pool: leases runners of a class to sessions, never one runner to two
 * sessions. Event-sourced and run as a cluster singleton, so leases survive the singleton moving
 * to another node or the process restarting; waiting requests are held in memory only.
 */
public final class RunnerPool extends EventSourcedBehavior<RunnerPool.Command, RunnerPool.Event, RunnerPoolState> {

  public sealed interface Command extends CborSerializable {}

  /** Ask for a runner; a session that holds one already gets the same one again. */
  public record Lease(String sessionId, String runnerClass, Instant deadline, ActorRef<LeaseReply> replyTo)
      implements Command {}

  /** Idempotent: releasing a lease that is not held changes nothing. */
  public record Release(String sessionId, String runnerId) implements Command {}

  public record GetRunners(ActorRef<RunnerList> replyTo) implements Command {}

  private record DeadlinePassed(String sessionId) implements Command {}

  public sealed interface LeaseReply extends CborSerializable {}

  public record Leased(String sessionId, RunnerInfo runner) implements LeaseReply {}

  public record LeaseRefused(String sessionId, String reason) implements LeaseReply {}

  public record RunnerList(List<RunnerStatus> runners) implements CborSerializable {}

  /** @param state {@code warm} or {@code leased}; {@code session} is null while warm */
  public record RunnerStatus(
      String id,
      String runnerClass,
      String provider,
      String state,
      String session,
      Instant since,
      String hostKeyFingerprint)
      implements CborSerializable {}

  /** Event class names are part of the journal: append fields with defaults, never rename. */
  public sealed interface Event extends CborSerializable {}

  public record RunnerLeased(String runnerId, String sessionId, Instant at) implements Event {}

  public record RunnerReleased(String runnerId, String sessionId, Instant at) implements Event {}

  static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("runner-pool");
  private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  public static Behavior<Command> create(RunnerCatalogue catalogue, Clock clock) {
    return Behaviors.setup(
        context -> Behaviors.withTimers(timers -> new RunnerPool(catalogue, clock, timers)));
  }

  public static ActorRef<Command> init(ActorSystem<?> system, RunnerCatalogue catalogue, Clock clock) {
    return ClusterSingleton.get(system)
        .init(SingletonActor.of(
            Behaviors.supervise(create(catalogue, clock))
                .onFailure(SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2)),
            "runner-pool"));
  }

  private final List<RunnerInfo> offered;
  private final Map<String, RunnerInfo> offeredById;
  private final Clock clock;
  private final TimerScheduler<Command> timers;
  private final Instant started;
  private LeaseQueue queue = LeaseQueue.empty();

  private RunnerPool(RunnerCatalogue catalogue, Clock clock, TimerScheduler<Command> timers) {
    super(PERSISTENCE_ID, SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2));
    this.offered = List.copyOf(catalogue.runners());
    this.offeredById =
        offered.stream().collect(Collectors.toUnmodifiableMap(RunnerInfo::id, Function.identity()));
    this.clock = clock;
    this.timers = timers;
    this.started = now();
  }

  @Override
  public RunnerPoolState emptyState() {
    return RunnerPoolState.empty();
  }

  @Override
  public CommandHandler<Command, Event, RunnerPoolState> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Lease.class, this::onLease)
        .onCommand(Release.class, this::onRelease)
        .onCommand(GetRunners.class, this::onGetRunners)
        .onCommand(DeadlinePassed.class, this::onDeadlinePassed)
        .build();
  }

  private Effect<Event, RunnerPoolState> onLease(RunnerPoolState state, Lease lease) {
    Optional<RunnerLease> held = state.leaseOf(lease.sessionId());
    if (held.isPresent()) {
      RunnerInfo runner = offeredById.get(held.get().runnerId());
      lease.replyTo().tell(runner != null
          ? new Leased(lease.sessionId(), runner)
          : new LeaseRefused(lease.sessionId(), "runner " + held.get().runnerId()
              + " held by this session is no longer offered by this control plane"));
      return Effect().none();
    }
    if (!RunnerPoolState.offers(offered, lease.runnerClass())) {
      lease.replyTo().tell(new LeaseRefused(lease.sessionId(),
          "runner class " + lease.runnerClass() + " is not offered by this control plane"));
      return Effect().none();
    }
    Optional<RunnerInfo> free = state.freeRunner(offered, lease.runnerClass());
    if (free.isPresent()) {
      RunnerInfo runner = free.get();
      return Effect()
          .persist(new RunnerLeased(runner.id(), lease.sessionId(), now()))
          .thenRun(() -> lease.replyTo().tell(new Leased(lease.sessionId(), runner)));
    }
    Instant now = now();
    if (!lease.deadline().isAfter(now)) {
      queue.waiting(lease.sessionId()).ifPresent(this::dequeue);
      lease.replyTo().tell(deadlinePassed(lease));
      return Effect().none();
    }
    queue = queue.join(lease);
    timers.startSingleTimer(
        lease.sessionId(), new DeadlinePassed(lease.sessionId()), Duration.between(now, lease.deadline()));
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onRelease(RunnerPoolState state, Release release) {
    if (!state.holds(release.sessionId(), release.runnerId())) {
      return Effect().none();
    }
    Instant now = now();
    for (Lease expired : queue.expired(now)) {
      dequeue(expired).tell(deadlinePassed(expired));
    }
    List<Event> events = new ArrayList<>();
    events.add(new RunnerReleased(release.runnerId(), release.sessionId(), now));
    RunnerInfo runner = offeredById.get(release.runnerId());
    Optional<Lease> next =
        runner == null ? Optional.empty() : queue.first(runner.runnerClass());
    next.ifPresent(n -> {
      dequeue(n);
      events.add(new RunnerLeased(runner.id(), n.sessionId(), now));
    });
    // One atomic write: the runner passes to the next session without ever being free in between.
    return Effect()
        .persist(events)
        .thenRun(() -> next.ifPresent(n -> n.replyTo().tell(new Leased(n.sessionId(), runner))));
  }

  private Effect<Event, RunnerPoolState> onGetRunners(RunnerPoolState state, GetRunners get) {
    get.replyTo().tell(new RunnerList(state.statuses(offered, started)));
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onDeadlinePassed(RunnerPoolState state, DeadlinePassed passed) {
    queue.waiting(passed.sessionId()).ifPresent(l -> dequeue(l).tell(deadlinePassed(l)));
    return Effect().none();
  }

  private ActorRef<LeaseReply> dequeue(Lease lease) {
    queue = queue.without(lease.sessionId());
    timers.cancel(lease.sessionId());
    return lease.replyTo();
  }

  private static LeaseRefused deadlinePassed(Lease lease) {
    return new LeaseRefused(lease.sessionId(),
        "no " + lease.runnerClass() + " runner became free before the provisioning deadline");
  }

  @Override
  public EventHandler<RunnerPoolState, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(RunnerLeased.class, (state, e) -> state.leased(e.runnerId(), e.sessionId(), e.at()))
        .onEvent(RunnerReleased.class, (state, e) -> state.released(e.runnerId(), e.at()))
        .build();
  }

  /** Snapshots bound recovery time; events are never deleted because the audit replays them all. */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 3);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }
}
