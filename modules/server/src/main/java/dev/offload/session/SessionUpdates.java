package dev.offload.session;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.PersistenceQuery;
import akka.stream.javadsl.Source;
import dev.offload.session.SessionEntity.SessionView;
import dev.offload.session.SessionState.Phase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What {@code GET /v1/sessions/{id}/events} streams: the session now, then one update per
 * transition read from the journal, one per change of the published ports, one per runner failure, and a warning shortly before a grace period ends and before
 * an idle session is wiped. Reads the journal, not the entity, so watchers add no load to it.
 */
public final class SessionUpdates {

  public sealed interface Update {}

  public record StateChanged(SessionView session) implements Update {}

  /** A runner failed for the session (it still waits, or ends next): the session with its {@code runnerError}. */
  public record RunnerFailed(SessionView session) implements Update {}

  /** The ports the session's running containers publish now, all of them. */
  public record PortsChanged(String sessionId, List<SessionState.ContainerPort> ports) implements Update {}

  /** {@code kind} is {@code idling} or {@code wiping}; {@code at} is when it happens. */
  public record Warning(String kind, Instant at, String sessionId) implements Update {}

  private static final Duration WARNING_LEAD = Duration.ofSeconds(60);
  private static final Duration TICK = Duration.ofMillis(250);

  private final JdbcReadJournal journal;
  private final Clock clock;
  private final Duration preservationWindow;

  public SessionUpdates(ActorSystem<?> system, Clock clock, Duration preservationWindow) {
    this.journal =
        PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    this.clock = clock;
    this.preservationWindow = preservationWindow;
  }

  /** Follows a session from {@code now} (what its entity or the index said) until it terminates. */
  public Source<Update, NotUsed> follow(SessionView now) {
    SessionState current = now.state();
    AtomicReference<SessionState> latest = new AtomicReference<>(current);
    Source<Update, NotUsed> transitions =
        journal
            .eventsByPersistenceId(SessionEntity.ENTITY_KEY.name() + "|" + current.id(), 0L, Long.MAX_VALUE)
            .map(envelope -> (SessionEvent) envelope.event())
            .statefulMapConcat(() -> new CatchUp(current, latest));
    Source<Update, NotUsed> stream =
        Source.<Update>single(new StateChanged(now))
            .concat(current.isTerminated() ? Source.empty() : transitions)
            .takeWhile(u -> !(u instanceof StateChanged c && c.session().state().isTerminated()), true);
    return stream.merge(warnings(latest), true);
  }

  /**
   * Folds the journal from the start and emits updates only once it has passed the state the
   * stream began with; the hash chain says exactly where that is. A change of state carries the
   * ports with it; a change of ports alone is its own update.
   */
  private static final class CatchUp implements akka.japi.function.Function<SessionEvent, Iterable<Update>> {
    private final String startHash;
    private final AtomicReference<SessionState> latest;
    private SessionState state;
    private boolean caughtUp;

    CatchUp(SessionState start, AtomicReference<SessionState> latest) {
      this.startHash = start.lastHash();
      this.latest = latest;
      this.state = SessionState.empty(start.id());
    }

    @Override
    public Iterable<Update> apply(SessionEvent event) {
      SessionState before = state;
      state = state.apply(event);
      if (!caughtUp) {
        caughtUp = state.lastHash().equals(startHash);
        return List.of();
      }
      latest.set(state);
      if (state.phase() != before.phase()) return List.of(new StateChanged(new SessionView(state, 0, null, null)));
      if (!state.ports().equals(before.ports())) return List.of(new PortsChanged(state.id(), state.ports()));
      if (!java.util.Objects.equals(state.runnerError(), before.runnerError())) {
        return List.of(new RunnerFailed(new SessionView(state, 0, null, null)));
      }
      return List.of();
    }
  }

  private Source<Update, NotUsed> warnings(AtomicReference<SessionState> latest) {
    Set<Instant> warned = new HashSet<>();
    return Source.tick(TICK, TICK, NotUsed.notUsed())
        .mapMaterializedValue(c -> NotUsed.notUsed())
        .mapConcat(tick -> {
          SessionState s = latest.get();
          Instant now = clock.instant();
          Warning due = null;
          if (s.phase() == Phase.GRACE_PERIOD && s.idleAt() != null) {
            due = warningIfDue("idling", s.idleAt(), Duration.ofSeconds(s.idleTimeoutSeconds()), now, s);
          } else if (s.phase() == Phase.IDLE && s.expiresAt() != null) {
            due = warningIfDue("wiping", s.expiresAt(), preservationWindow, now, s);
          }
          return due != null && warned.add(due.at()) ? List.of((Update) due) : List.<Update>of();
        });
  }

  /** api.md: 60 s before, or half the period if that is shorter. */
  private static Warning warningIfDue(String kind, Instant at, Duration period, Instant now, SessionState s) {
    Duration lead = period.dividedBy(2).compareTo(WARNING_LEAD) < 0 ? period.dividedBy(2) : WARNING_LEAD;
    return now.isBefore(at.minus(lead)) ? null : new Warning(kind, at, s.id());
  }
}
