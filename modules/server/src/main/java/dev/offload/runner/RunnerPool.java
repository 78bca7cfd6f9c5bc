package dev.offload.runner;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.Effect;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import dev.offload.CborSerializable;
import dev.offload.runner.FleetSettings.RunnerClass;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * The cluster's one runner pool: provisions runners through their class's provider, keeps
 * {@code min-warm} of each class verified and warm, leases them to sessions (never one runner to
 * two sessions), wipes them on release, checks their health, and retires the ones that fail.
 * Event-sourced and run as a cluster singleton, so runners and leases survive the singleton moving
 * to another node or the process restarting; waiting requests and health are held in memory only.
 */
public final class RunnerPool extends EventSourcedBehavior<RunnerPool.Command, RunnerPool.Event, RunnerPoolState> {

  public sealed interface Command extends CborSerializable {}

  /** Ask for a runner; a session that holds one already gets the same one again. */
  public record Lease(String sessionId, String runnerClass, Instant deadline, ActorRef<LeaseReply> replyTo)
      implements Command {}

  /** Idempotent: releasing a lease that is not held changes nothing. */
  public record Release(String sessionId, String runnerId) implements Command {}

  public record GetRunners(ActorRef<RunnerList> replyTo) implements Command {}

  /**
   * Answers {@link Leased} if {@code runnerId} is leased to {@code sessionId}, else
   * {@link LeaseRefused} saying why: how a recovered session learns its runner is gone.
   */
  public record Confirm(String sessionId, String runnerId, ActorRef<LeaseReply> replyTo) implements Command {}

  /** The runner as the pool knows it, on any node: what a session or tunnel needs to reach it. */
  public record GetRunner(String runnerId, ActorRef<RunnerFound> replyTo) implements Command {}

  /** No new lease for the runner; it is destroyed once free (after its wipe, if it was leased). */
  public record Drain(String runnerId, ActorRef<DrainReply> replyTo) implements Command {}

  private record DeadlinePassed(String sessionId) implements Command {}

  private record Provisioned(String runnerClass, RunnerInfo runner) implements Command {}

  /** {@code runner} is the one its provider created but that failed verification, null if none was. */
  private record ProvisionFailed(String runnerClass, RunnerInfo runner, String reason) implements Command {}

  private record Adopted(RunnerInfo runner) implements Command {}

  private record AdoptionFailed(String runnerId, String reason) implements Command {}

  private record Wiped(String runnerId, long startedNanos) implements Command {}

  private record WipeFailed(String runnerId, String reason, long startedNanos) implements Command {}

  private record HealthTick() implements Command {}

  private record HealthChecked(String runnerId, boolean ok, String detail) implements Command {}

  private record Destroyed(String runnerId, String failure) implements Command {}

  private record Liveness(String sessionId, String runnerId, boolean live) implements Command {}

  private record Refill() implements Command {}

  private record Retire(String runnerId, String reason) implements Command {}

  /** Writes the events decided since the last write, in one journal write (see {@link #write}). */
  private enum Flush implements Command { INSTANCE }

  public sealed interface LeaseReply extends CborSerializable {}

  public record Leased(String sessionId, RunnerInfo runner) implements LeaseReply {}

  public record LeaseRefused(String sessionId, String reason) implements LeaseReply {}

  /**
   * The lease still waits, and this is why: a runner of its class was created but could not be
   * verified (its SSH login or host key was refused). Sent to every session waiting for the class.
   */
  public record LeaseDelayed(String sessionId, String runnerId, String reason) implements LeaseReply {}

  public sealed interface DrainReply extends CborSerializable {}

  public record Draining(String runnerId) implements DrainReply {}

  public record NotFound(String runnerId) implements DrainReply {}

  public record RunnerList(List<RunnerStatus> runners) implements CborSerializable {}

  /** {@code runner} is null when the pool does not know {@code runnerId}. */
  public record RunnerFound(String runnerId, RunnerInfo runner) implements CborSerializable {}

  /**
   * @param state {@code provisioning} (being adopted after a restart), {@code warm}, {@code leased},
   *     {@code wiping}, {@code unhealthy} (failing its health checks) or {@code destroying}
   * @param session null unless leased
   * @param lastHealthAt the last health check's instant, null before the first
   * @param reason why the runner is {@code unhealthy} (its last failed check or refused
   *     verification, in words an operator can act on), else null
   */
  public record RunnerStatus(
      String id,
      String runnerClass,
      String provider,
      String state,
      String session,
      Instant since,
      String hostKeyFingerprint,
      Instant lastHealthAt,
      boolean draining,
      String reason)
      implements CborSerializable {}

  /** Event class names are part of the journal: append fields with defaults, never rename. */
  public sealed interface Event extends CborSerializable {}

  public record RunnerLeased(String runnerId, String sessionId, Instant at) implements Event {}

  /** Since the fleet: the runner is unwiped until {@link RunnerWiped}. */
  public record RunnerReleased(String runnerId, String sessionId, Instant at) implements Event {}

  /** Created by its provider and verified; {@code runner} is what the provider reported. */
  public record RunnerProvisioned(RunnerInfo runner, Instant at) implements Event {}

  /** Taken back after a restart, at the endpoint its provider reports now. */
  public record RunnerAdopted(RunnerInfo runner, Instant at) implements Event {}

  public record RunnerWiped(String runnerId, Instant at) implements Event {}

  public record RunnerDrained(String runnerId, Instant at) implements Event {}

  /** Destroyed (or being destroyed) and forgotten, with its lease if it had one. */
  public record RunnerRetired(String runnerId, String reason, Instant at) implements Event {}

  static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("runner-pool");
  // Every lease waits for the pool: after a database outage it must be back within seconds, not
  // after a backoff that grew for each failed recovery while the database was down.
  private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(4);

  public static Behavior<Command> create(RunnerFleet fleet, SessionDirectory sessions, Clock clock) {
    return Behaviors.setup(context -> Behaviors.withTimers(
        timers -> new RunnerPool(fleet, sessions, clock, context, timers)));
  }

  public static ActorRef<Command> init(
      ActorSystem<?> system, RunnerFleet fleet, SessionDirectory sessions, Clock clock) {
    return ClusterSingleton.get(system)
        .init(SingletonActor.of(
            Behaviors.supervise(create(fleet, sessions, clock))
                .onFailure(SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2)),
            "runner-pool"));
  }

  private final RunnerFleet fleet;
  private final FleetSettings settings;
  private final SessionDirectory sessions;
  private final Clock clock;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final RunnerRuntime runtime = new RunnerRuntime();
  private final Map<String, Long> waitingSince = new HashMap<>();
  private final Map<String, ActorRef<ContainerTracker.Command>> trackers = new HashMap<>();
  private LeaseQueue queue = LeaseQueue.empty();
  /** Events decided but not yet written, what to do once they are, and the state they lead to. */
  private final List<Event> unwritten = new ArrayList<>();
  private final List<Consumer<RunnerPoolState>> afterWrite = new ArrayList<>();
  private RunnerPoolState decided;
  private EventHandler<RunnerPoolState, Event> applier;

  private RunnerPool(RunnerFleet fleet, SessionDirectory sessions, Clock clock,
      ActorContext<Command> context, TimerScheduler<Command> timers) {
    super(PERSISTENCE_ID, SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2));
    this.fleet = fleet;
    this.settings = fleet.settings();
    this.sessions = sessions;
    this.clock = clock;
    this.context = context;
    this.timers = timers;
  }

  @Override
  public RunnerPoolState emptyState() {
    return RunnerPoolState.empty();
  }

  @Override
  public SignalHandler<RunnerPoolState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .onSignal(PostStop.instance(), state -> fleet.forgetAll())
        .build();
  }

  /**
   * Every runner provisioned before is adopted and verified again before it is leased (spec:
   * reconciliation); leases of sessions that are no longer live are released.
   */
  private void onRecovered(RunnerPoolState state) {
    for (RunnerInfo runner : state.runners().values()) {
      runtime.startBusy(runner.id());
      fleet.remember(runner);
      context.pipeToSelf(
          fleet.adopt(runner),
          (adopted, failure) -> failure == null
              ? new Adopted(adopted)
              : new AdoptionFailed(runner.id(), message(failure)));
    }
    for (RunnerLease lease : state.leases().values()) {
      if (!state.runners().containsKey(lease.runnerId())) {
        // Leased before this pool tracked its runners (or by a provider since removed): the session
        // is told its runner is gone (spec: reconciliation) and the lease ends.
        sessions.runnerLost(lease.sessionId(), lease.runnerId(),
            "runner " + lease.runnerId() + " is no longer known to the runner pool");
        context.getSelf().tell(new Release(lease.sessionId(), lease.runnerId()));
        continue;
      }
      context.pipeToSelf(sessions.isLive(lease.sessionId()),
          // When liveness is unknown the lease stands: a live session must never lose its runner.
          (live, failure) -> new Liveness(lease.sessionId(), lease.runnerId(), failure != null || live));
    }
    timers.startTimerWithFixedDelay("health", new HealthTick(), settings.healthInterval());
    refillAll(state);
  }

  @Override
  public CommandHandler<Command, Event, RunnerPoolState> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Lease.class, (state, c) -> onLease(current(state), c))
        .onCommand(Release.class, (state, c) -> onRelease(current(state), c))
        .onCommand(GetRunners.class, (state, c) -> onGetRunners(current(state), c))
        .onCommand(Confirm.class, (state, c) -> onConfirm(current(state), c))
        .onCommand(GetRunner.class, (state, get) -> {
          get.replyTo().tell(new RunnerFound(get.runnerId(), current(state).runners().get(get.runnerId())));
          return Effect().none();
        })
        .onCommand(Drain.class, (state, c) -> onDrain(current(state), c))
        .onCommand(DeadlinePassed.class, (state, c) -> onDeadlinePassed(current(state), c))
        .onCommand(Provisioned.class, (state, c) -> onProvisioned(current(state), c))
        .onCommand(ProvisionFailed.class, (state, c) -> onProvisionFailed(current(state), c))
        .onCommand(Adopted.class, (state, c) -> onAdopted(current(state), c))
        .onCommand(AdoptionFailed.class, (state, c) -> retire(current(state), c.runnerId(), c.reason(), true))
        .onCommand(Wiped.class, (state, c) -> onWiped(current(state), c))
        .onCommand(WipeFailed.class, (state, c) -> onWipeFailed(current(state), c))
        .onCommand(HealthTick.class, (state, c) -> onHealthTick(current(state), c))
        .onCommand(HealthChecked.class, (state, c) -> onHealthChecked(current(state), c))
        .onCommand(Destroyed.class, (state, c) -> onDestroyed(current(state), c))
        .onCommand(Liveness.class, (state, c) -> onLiveness(current(state), c))
        .onCommand(Retire.class, (state, c) -> retire(current(state), c.runnerId(), c.reason(), false))
        .onCommand(Refill.class, (state, c) -> {
          refillAll(current(state));
          return Effect().none();
        })
        .onCommand(Flush.class, (state, c) -> flush())
        .build();
  }

  /**
   * Group commit: every decision is taken against {@link #current} and queued; one {@link Flush}
   * writes all decisions queued meanwhile as one atomic journal write, then runs their effects
   * (replies included) in order. A persist per command would make the singleton wait for the
   * database once per lease, release and wipe, capping the whole control plane at one write's
   * latency per decision. Nothing decided is told to anyone before it is written.
   */
  private Effect<Event, RunnerPoolState> write(
      RunnerPoolState state, List<Event> events, Consumer<RunnerPoolState> then) {
    if (events.isEmpty() && unwritten.isEmpty()) {
      then.accept(state);
      return Effect().none();
    }
    if (unwritten.isEmpty() && afterWrite.isEmpty()) {
      context.getSelf().tell(Flush.INSTANCE);
    }
    decided = applied(state, events);
    unwritten.addAll(events);
    afterWrite.add(then);
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> write(RunnerPoolState state, Event event, Consumer<RunnerPoolState> then) {
    return write(state, List.of(event), then);
  }

  /** Runs {@code then} once every decision taken so far is written: at once when none waits. */
  private Effect<Event, RunnerPoolState> afterWrite(RunnerPoolState state, Consumer<RunnerPoolState> then) {
    return write(state, List.of(), then);
  }

  private RunnerPoolState applied(RunnerPoolState state, List<Event> events) {
    if (applier == null) {
      applier = eventHandler();
    }
    RunnerPoolState after = state;
    for (Event event : events) {
      after = applier.apply(after, event);
    }
    return after;
  }

  /** The pool as decided: the written state plus the decisions waiting for the next write. */
  private RunnerPoolState current(RunnerPoolState written) {
    return decided == null ? written : decided;
  }

  private Effect<Event, RunnerPoolState> flush() {
    List<Event> events = List.copyOf(unwritten);
    List<Consumer<RunnerPoolState>> effects = List.copyOf(afterWrite);
    unwritten.clear();
    afterWrite.clear();
    decided = null;
    return Effect().persist(events).thenRun(after -> effects.forEach(effect -> effect.accept(after)));
  }

  private Effect<Event, RunnerPoolState> onLease(RunnerPoolState state, Lease lease) {
    if (state.leaseOf(lease.sessionId()).isPresent()) {
      // Answered from the written state: the lease may still be waiting for its write.
      return afterWrite(state, written -> {
        RunnerLease held = written.leaseOf(lease.sessionId()).orElseThrow();
        RunnerInfo runner = written.runners().get(held.runnerId());
        lease.replyTo().tell(runner != null
            ? new Leased(lease.sessionId(), runner)
            : new LeaseRefused(lease.sessionId(), "runner " + held.runnerId()
                + " held by this session is no longer offered by this control plane"));
      });
    }
    if (!settings.classes().containsKey(lease.runnerClass())) {
      lease.replyTo().tell(new LeaseRefused(lease.sessionId(),
          "runner class " + lease.runnerClass() + " is not offered by this control plane"));
      return Effect().none();
    }
    waitingSince.putIfAbsent(lease.sessionId(), System.nanoTime());
    Optional<RunnerInfo> free = freeRunner(state, lease.runnerClass());
    if (free.isPresent()) {
      RunnerInfo runner = free.get();
      return write(state, new RunnerLeased(runner.id(), lease.sessionId(), now()), after -> {
        leased(lease, runner);
        refill(after, lease.runnerClass());
      });
    }
    Instant now = now();
    if (!lease.deadline().isAfter(now)) {
      queue.waiting(lease.sessionId()).ifPresent(this::dequeue);
      waitingSince.remove(lease.sessionId());
      lease.replyTo().tell(deadlinePassed(lease));
      return Effect().none();
    }
    queue = queue.join(lease);
    runtime.refusedOf(lease.runnerClass()).ifPresent(refused -> lease.replyTo().tell(
        new LeaseDelayed(lease.sessionId(), refused.id(), refused.reason())));
    timers.startSingleTimer(
        lease.sessionId(), new DeadlinePassed(lease.sessionId()), Duration.between(now, lease.deadline()));
    refill(state, lease.runnerClass());
    return Effect().none();
  }

  private void leased(Lease lease, RunnerInfo runner) {
    Long since = waitingSince.remove(lease.sessionId());
    if (since != null) {
      RunnerMetrics.LEASE_WAIT.labelValues(runner.runnerClass()).observe((System.nanoTime() - since) / 1e9);
    }
    track(runner, lease.sessionId());
    lease.replyTo().tell(new Leased(lease.sessionId(), runner));
  }

  private void track(RunnerInfo runner, String sessionId) {
    untrack(runner.id());
    trackers.put(runner.id(), context.spawnAnonymous(ContainerTracker.create(runner, sessionId, fleet, sessions)));
  }

  private void untrack(String runnerId) {
    ActorRef<ContainerTracker.Command> tracker = trackers.remove(runnerId);
    if (tracker != null) {
      context.stop(tracker);
    }
  }

  /** A verified, wiped, free runner of the class; any will do, they are alike. */
  private Optional<RunnerInfo> freeRunner(RunnerPoolState state, String runnerClass) {
    return state.runners().values().stream()
        .filter(r -> r.runnerClass().equals(runnerClass) && state.isClean(r.id()) && runtime.isReady(r.id()))
        .findFirst();
  }

  /** A runner is never leased again before its wipe succeeded, so release only starts the wipe. */
  private Effect<Event, RunnerPoolState> onRelease(RunnerPoolState state, Release release) {
    // A session that ended while it waited withdraws from the queue: a runner handed to it
    // later would reach a stopped entity and never come back.
    queue.waiting(release.sessionId()).ifPresent(this::dequeue);
    if (release.runnerId() == null || !state.holds(release.sessionId(), release.runnerId())) {
      return Effect().none();
    }
    return write(state, new RunnerReleased(release.runnerId(), release.sessionId(), now()), after -> {
      untrack(release.runnerId());
      wipe(after, release.runnerId());
    });
  }

  private void wipe(RunnerPoolState state, String runnerId) {
    RunnerInfo runner = state.runners().get(runnerId);
    if (runner == null || !state.dirty().contains(runnerId) || !runtime.startBusy(runnerId)) {
      return;
    }
    long started = System.nanoTime();
    context.pipeToSelf(
        fleet.commands().run(runner, settings.wipeCommand(), settings.wipeTimeout()),
        (result, failure) -> failure != null
            ? new WipeFailed(runnerId, message(failure), started)
            : result.ok()
                ? new Wiped(runnerId, started)
                : new WipeFailed(runnerId, result.describe(), started));
  }

  private Effect<Event, RunnerPoolState> onWiped(RunnerPoolState state, Wiped wiped) {
    runtime.endBusy(wiped.runnerId());
    RunnerInfo runner = state.runners().get(wiped.runnerId());
    if (runner == null) {
      return Effect().none();
    }
    RunnerMetrics.WIPE_TIME.labelValues(runner.runnerClass(), "wiped")
        .observe((System.nanoTime() - wiped.startedNanos()) / 1e9);
    runtime.verified(runner.id(), now());
    if (state.draining().contains(runner.id())) {
      return retire(state, runner.id(), "drained", false);
    }
    List<Event> events = new ArrayList<>(List.of(new RunnerWiped(runner.id(), now())));
    return persistAndServe(state, runner, events);
  }

  /** {@code events} make {@code runner} free; the first session waiting for its class gets it in the same write. */
  private Effect<Event, RunnerPoolState> persistAndServe(RunnerPoolState state, RunnerInfo runner, List<Event> events) {
    RunnerPoolState free = applied(state, events);
    Optional<Lease> next = free.isClean(runner.id()) && runtime.isReady(runner.id())
        ? queue.first(runner.runnerClass())
        : Optional.empty();
    next.ifPresent(n -> {
      dequeue(n);
      events.add(new RunnerLeased(runner.id(), n.sessionId(), now()));
    });
    return write(state, events, after -> {
      next.ifPresent(n -> leased(n, runner));
      refill(after, runner.runnerClass());
    });
  }

  private Effect<Event, RunnerPoolState> onWipeFailed(RunnerPoolState state, WipeFailed failed) {
    runtime.endBusy(failed.runnerId());
    RunnerInfo runner = state.runners().get(failed.runnerId());
    if (runner == null) {
      return Effect().none();
    }
    RunnerMetrics.WIPE_TIME.labelValues(runner.runnerClass(), "failed")
        .observe((System.nanoTime() - failed.startedNanos()) / 1e9);
    context.getLog().warn("Wiping runner {} failed, destroying it: {}", runner.id(), failed.reason());
    return retire(state, runner.id(), "wipe failed: " + failed.reason(), false);
  }

  private Effect<Event, RunnerPoolState> onGetRunners(RunnerPoolState state, GetRunners get) {
    get.replyTo().tell(new RunnerList(statuses(state)));
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onConfirm(RunnerPoolState state, Confirm confirm) {
    return afterWrite(state, written -> {
      RunnerInfo runner = written.runners().get(confirm.runnerId());
      if (runner != null && written.holds(confirm.sessionId(), confirm.runnerId())) {
        confirm.replyTo().tell(new Leased(confirm.sessionId(), runner));
      } else {
        confirm.replyTo().tell(new LeaseRefused(confirm.sessionId(), runner == null
            ? "runner " + confirm.runnerId() + " is no longer known to the runner pool"
            : "runner " + confirm.runnerId() + " is not leased to session " + confirm.sessionId()));
      }
    });
  }

  private Effect<Event, RunnerPoolState> onDrain(RunnerPoolState state, Drain drain) {
    if (!state.runners().containsKey(drain.runnerId())) {
      drain.replyTo().tell(new NotFound(drain.runnerId()));
      return Effect().none();
    }
    if (state.draining().contains(drain.runnerId())) {
      drain.replyTo().tell(new Draining(drain.runnerId()));
      return Effect().none();
    }
    return write(state, new RunnerDrained(drain.runnerId(), now()), after -> {
      drain.replyTo().tell(new Draining(drain.runnerId()));
      boolean free = !after.isLeased(drain.runnerId()) && !after.dirty().contains(drain.runnerId());
      if (free) {
        // Through the mailbox: retiring persists, which a thenRun callback cannot do itself.
        context.getSelf().tell(new Retire(drain.runnerId(), "drained"));
      } else {
        refill(after, after.runners().get(drain.runnerId()).runnerClass());
      }
    });
  }

  private Effect<Event, RunnerPoolState> onDeadlinePassed(RunnerPoolState state, DeadlinePassed passed) {
    queue.waiting(passed.sessionId()).ifPresent(l -> dequeue(l).tell(deadlinePassed(l)));
    waitingSince.remove(passed.sessionId());
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onProvisioned(RunnerPoolState state, Provisioned provisioned) {
    runtime.provisioningEnded(provisioned.runnerClass());
    RunnerInfo runner = provisioned.runner();
    runtime.accepted(runner.id());
    fleet.remember(runner);
    runtime.verified(runner.id(), now());
    List<Event> events = new ArrayList<>(List.of(new RunnerProvisioned(runner, now())));
    return persistAndServe(state, runner, events);
  }

  private Effect<Event, RunnerPoolState> onProvisionFailed(RunnerPoolState state, ProvisionFailed failed) {
    runtime.provisioningEnded(failed.runnerClass());
    if (failed.runner() != null) {
      // Out of rotation until it verifies: listed as unhealthy with the reason, and every session
      // waiting for its class is told why it still waits instead of waiting in silence.
      RunnerClass runnerClass = settings.classes().get(failed.runnerClass());
      runtime.refused(failed.runner(), failed.reason(), now(), runnerClass == null ? 1 : runnerClass.max());
      queue.all(failed.runnerClass()).forEach(lease -> lease.replyTo().tell(
          new LeaseDelayed(lease.sessionId(), failed.runner().id(), failed.reason())));
    }
    publishMetrics(state);
    context.getLog().warn("Provisioning a {} runner failed: {}", failed.runnerClass(), failed.reason());
    // Retried after a health interval, so a provider that keeps failing is not called in a loop.
    timers.startSingleTimer("refill", new Refill(), settings.healthInterval());
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onAdopted(RunnerPoolState state, Adopted adopted) {
    RunnerInfo runner = adopted.runner();
    runtime.endBusy(runner.id());
    if (!state.runners().containsKey(runner.id())) {
      return Effect().none();
    }
    fleet.remember(runner);
    runtime.verified(runner.id(), now());
    if (state.draining().contains(runner.id()) && !state.isLeased(runner.id()) && !state.dirty().contains(runner.id())) {
      return retire(state, runner.id(), "drained", false);
    }
    List<Event> events = new ArrayList<>();
    if (!runner.equals(state.runners().get(runner.id()))) {
      events.add(new RunnerAdopted(runner, now()));
    }
    RunnerPoolState after = events.isEmpty() ? state : state.adopted(runner);
    RunnerLease lease = after.leases().get(runner.id());
    if (lease != null) {
      track(runner, lease.sessionId());
    }
    if (after.dirty().contains(runner.id())) {
      // At least once: a wipe interrupted by the restart runs again.
      return write(state, events, s -> wipe(s, runner.id()));
    }
    return persistAndServe(state, runner, events);
  }

  private Effect<Event, RunnerPoolState> onHealthTick(RunnerPoolState state, HealthTick tick) {
    for (RunnerInfo runner : state.runners().values()) {
      boolean checkable = state.isLeased(runner.id()) || (state.isClean(runner.id()) && runtime.isReady(runner.id()));
      if (!checkable || !runtime.startCheck(runner.id())) {
        continue;
      }
      context.pipeToSelf(
          fleet.commands().run(runner, settings.healthCommand(), settings.healthInterval()),
          (result, failure) -> failure != null
              ? new HealthChecked(runner.id(), false, "the health check could not run: " + message(failure))
              : new HealthChecked(runner.id(), result.ok(), result.ok() ? "" : "the engine did not answer: " + result.describe()));
    }
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onHealthChecked(RunnerPoolState state, HealthChecked checked) {
    RunnerInfo runner = state.runners().get(checked.runnerId());
    if (runner == null) {
      return Effect().none();
    }
    Instant now = now();
    runtime.checked(runner.id(), checked.ok(), checked.detail(), now);
    if (checked.ok()) {
      return Effect().none();
    }
    RunnerMetrics.HEALTH_FAILURES.labelValues(runner.runnerClass()).inc();
    Optional<RunnerLease> lease = Optional.ofNullable(state.leases().get(runner.id()));
    if (lease.isEmpty()) {
      if (!state.isClean(runner.id())) {
        return Effect().none();
      }
      context.getLog().warn("Warm runner {} failed its health check, replacing it: {}", runner.id(), checked.detail());
      return retire(state, runner.id(), "health check failed: " + checked.detail(), false);
    }
    if (runtime.failingFor(runner.id(), now).compareTo(settings.runnerLostAfter()) < 0) {
      return Effect().none();
    }
    return retire(state, runner.id(), "runner lost: " + checked.detail(), true);
  }

  /**
   * Persists the runner's end, then destroys it through its provider and provisions a replacement;
   * with {@code lost}, the session holding it is told its runner is lost.
   */
  private Effect<Event, RunnerPoolState> retire(
      RunnerPoolState state, String runnerId, String reason, boolean lost) {
    RunnerInfo runner = state.runners().get(runnerId);
    if (runner == null) {
      return Effect().none();
    }
    Optional<RunnerLease> lease = Optional.ofNullable(state.leases().get(runnerId));
    return write(state, new RunnerRetired(runnerId, reason, now()), after -> {
      if (lost) {
        lease.ifPresent(l -> sessions.runnerLost(l.sessionId(), runnerId, reason));
      }
      untrack(runnerId);
      fleet.forget(runnerId);
      runtime.destroying(runner);
      context.pipeToSelf(fleet.destroy(runner),
          (done, failure) -> new Destroyed(runnerId, failure == null ? null : message(failure)));
      refill(after, runner.runnerClass());
    });
  }

  private Effect<Event, RunnerPoolState> onDestroyed(RunnerPoolState state, Destroyed destroyed) {
    runtime.destroyed(destroyed.runnerId());
    if (destroyed.failure() != null) {
      context.getLog().warn("Destroying runner {} failed; its provider may still run it: {}",
          destroyed.runnerId(), destroyed.failure());
    }
    publishMetrics(state);
    return Effect().none();
  }

  private Effect<Event, RunnerPoolState> onLiveness(RunnerPoolState state, Liveness liveness) {
    if (liveness.live() || !state.holds(liveness.sessionId(), liveness.runnerId())) {
      return Effect().none();
    }
    context.getLog().info("Session {} is no longer live: releasing its runner {}", liveness.sessionId(), liveness.runnerId());
    return onRelease(state, new Release(liveness.sessionId(), liveness.runnerId()));
  }

  private void refillAll(RunnerPoolState state) {
    settings.classes().keySet().forEach(c -> refill(state, c));
  }

  /**
   * Starts creates until the class has {@code min-warm} spare runners plus one per waiting session,
   * never more than {@code max} runners in all.
   */
  private void refill(RunnerPoolState state, String runnerClass) {
    RunnerClass settings = this.settings.classes().get(runnerClass);
    publishMetrics(state);
    if (settings == null) {
      return;
    }
    for (int i = runtime.toCreate(state, settings, queue.waitingFor(runnerClass)); i > 0; i--) {
      runtime.provisioningStarted(runnerClass);
      context.pipeToSelf(fleet.provision(runnerClass),
          (runner, failure) -> failure == null
              ? new Provisioned(runnerClass, runner)
              : new ProvisionFailed(runnerClass, unverified(failure), message(failure)));
    }
  }

  private void publishMetrics(RunnerPoolState state) {
    RunnerMetrics.runners(statuses(state), runtime.provisioning());
  }

  private List<RunnerStatus> statuses(RunnerPoolState state) {
    return runtime.statuses(state);
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

  private static RunnerInfo unverified(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return cause instanceof RunnerFleet.Unverified unverified ? unverified.runner : null;
  }

  private static String message(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return cause.getMessage();
  }

  @Override
  public EventHandler<RunnerPoolState, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(RunnerLeased.class, (state, e) -> state.leased(e.runnerId(), e.sessionId(), e.at()))
        .onEvent(RunnerReleased.class, (state, e) -> state.released(e.runnerId(), e.at()))
        .onEvent(RunnerProvisioned.class, (state, e) -> state.provisioned(e.runner(), e.at()))
        .onEvent(RunnerAdopted.class, (state, e) -> state.adopted(e.runner()))
        .onEvent(RunnerWiped.class, (state, e) -> state.wiped(e.runnerId(), e.at()))
        .onEvent(RunnerDrained.class, (state, e) -> state.drained(e.runnerId()))
        .onEvent(RunnerRetired.class, (state, e) -> state.retired(e.runnerId()))
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
