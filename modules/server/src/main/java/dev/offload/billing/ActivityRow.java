package dev.offload.billing;

import dev.offload.session.SessionState;
import java.time.Duration;
import java.time.Instant;

/** One line of an organisation's activity view (api.md): a session and what it was charged. */
public record ActivityRow(
    String id, String user, Instant startedAt, long durationSeconds, long billableSeconds, int containers) {

  /** A live session's duration and charge run up to {@code now}, as in every usage view. */
  public static ActivityRow of(SessionState s, Instant now) {
    Instant end = s.terminatedAt() != null ? s.terminatedAt() : now;
    long duration = Math.max(0, Duration.between(s.createdAt(), end).toSeconds());
    long billable = Billing.charge(s, s.isTerminated() ? null : now).totalSeconds();
    return new ActivityRow(s.id(), s.user(), s.createdAt(), duration, billable, s.containersStarted());
  }
}
