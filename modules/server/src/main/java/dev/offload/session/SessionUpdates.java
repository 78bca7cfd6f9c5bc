package dev.offload.session;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import dev.offload.session.SessionEntity.SessionView;
import dev.offload.session.SessionState.Phase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What {@code GET /v1/sessions/{id}/events} streams: the session now, then one update per
 * transition read from the journal, one per change of the published ports, one per runner failure, and a warning shortly before a grace period ends and before
 * an idle session is wiped. Reads the journal through the node's {@link SessionEventFeed}, not the
 * entity, so watchers add no load to it.
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

  private final SessionEventFeed feed;
  private final Clock clock;
  private final Duration preservationWindow;

  public SessionUpdates(SessionEventFeed feed, Clock clock, Duration preservationWindow) {
    this.feed = feed;
    this.clock = clock;
    this.preservationWindow = preservationWindow;
  }

  /** Follows a session from {@code now} (what its entity or the index said) until it terminates. */
  public Source<Update, NotUsed> follow(SessionView now) {
    SessionState current = now.state();
    AtomicReference<SessionState> latest = new AtomicReference<>(current);
    Source<Update, NotUsed> transitions =
        feed.eventsOf(current.id())
            .map(envelopes -> envelopes.stream().map(envelope -> (SessionEvent) envelope.event()).toList())
            .statefulMapConcat(() -> new CatchUp(current, latest));
    Source<Update, NotUsed> stream =
        Source.<Update>single(new StateChanged(now))
            .concat(current.isTerminated() ? Source.empty() : transitions)
            .takeWhile(u -> !(u instanceof StateChanged c && c.session().state().isTerminated()), true);
    return stream.merge(warnings(latest), true);
  }

  /**
   * Folds the journal from the start and emits updates only once it has passed the state the
   * stream began with; the hash chain says exactly where that is. A state that is not on the chain
   * (a start's placeholder, answered before its entity wrote) is passed once the session's first
   * events are read, with the journal's state if its phase differs. A change of state carries the
   * ports with it; a change of ports alone is its own update.
   */
  private static final class CatchUp implements akka.japi.function.Function<List<SessionEvent>, Iterable<Update>> {
    private final SessionState start;
    private final AtomicReference<SessionState> latest;
    private SessionState state;
    private boolean caughtUp;

    CatchUp(SessionState start, AtomicReference<SessionState> latest) {
      this.start = start;
      this.latest = latest;
      this.state = SessionState.empty(start.id());
    }

    @Override
    public Iterable<Update> apply(List<SessionEvent> events) {
      List<Update> updates = new ArrayList<>();
      for (SessionEvent event : events) {
        SessionState before = state;
        state = state.apply(event);
        if (!caughtUp) {
          caughtUp = state.lastHash().equals(start.lastHash());
        } else {
          Update update = change(before, state);
          if (update != null) updates.add(update);
        }
      }
      if (!caughtUp && state.phase() != Phase.NEW) {
        caughtUp = true;
        if (state.phase() != start.phase()) updates.add(new StateChanged(new SessionView(state, 0, null, null)));
      }
      if (caughtUp) latest.set(state);
      return updates;
    }

    private static Update change(SessionState before, SessionState after) {
      if (after.phase() != before.phase()) return new StateChanged(new SessionView(after, 0, null, null));
      if (!after.ports().equals(before.ports())) return new PortsChanged(after.id(), after.ports());
      if (!Objects.equals(after.runnerError(), before.runnerError())) {
        return new RunnerFailed(new SessionView(after, 0, null, null));
      }
      return null;
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
