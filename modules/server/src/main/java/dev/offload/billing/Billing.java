package dev.offload.billing;

import dev.offload.session.SessionState;
import dev.offload.session.SessionState.Phase;
import dev.offload.session.SessionState.PhaseChange;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a session is charged, as billing.md says: a pure function of its phase history (itself a
 * pure fold of its events), shared by the session view, the ledger and the audit so that they
 * can only disagree when the journal or the ledger was changed behind the system's back.
 */
public final class Billing {

  /** One interval of a session's life and whether it is charged, with the reason when it is not obvious. */
  public record Stretch(String kind, Instant from, Instant to, boolean billed, String why) {}

  /** The charge of one session: its stretches and its charged seconds per UTC month. */
  public record SessionCharge(List<Stretch> stretches, SortedMap<YearMonth, Long> secondsByMonth) {
    public long totalSeconds() {
      return secondsByMonth.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Integer money only: micro-dollars at the runner class's rate. */
    public long micros(long microsPerSecond) {
      return Math.multiplyExact(totalSeconds(), microsPerSecond);
    }
  }

  static final String PROVISIONING_WHY = "provisioning is not charged";
  static final String RESUMED_WHY = "resumed within the preservation window";
  static final String EXPIRED_WHY = "not resumed before the session ended";
  static final String STILL_IDLE_WHY = "charged only if the session resumes";

  private Billing() {}

  /**
   * The charge of a session from the fold of its events.
   *
   * @param now for a live session, the instant its current phase is charged up to in the usage
   *     view; null charges up to its last event, as the audit does
   */
  public static SessionCharge charge(SessionState session, Instant now) {
    return charge(session.history(), now != null ? now : session.lastEventAt());
  }

  /**
   * @param history the phases in journal order, their instants already clamped by the fold
   * @param upTo the instant the last phase is charged up to when the session is still live
   */
  public static SessionCharge charge(List<PhaseChange> history, Instant upTo) {
    List<Stretch> stretches = new ArrayList<>();
    Map<YearMonth, Long> millis = new TreeMap<>();
    Instant previous = Instant.MIN;
    for (int i = 0; i < history.size(); i++) {
      PhaseChange change = history.get(i);
      if (change.phase() == Phase.TERMINATED) break;
      Instant from = max(change.at(), previous); // already clamped by the fold; kept monotonic here too
      Instant to = i + 1 < history.size()
          ? max(history.get(i + 1).at(), from)
          : upTo == null ? from : max(upTo, from);
      previous = from;
      Phase next = i + 1 < history.size() ? history.get(i + 1).phase() : null;
      Stretch stretch = stretch(change.phase(), next, from, to);
      if (from.equals(to)) continue;
      stretches.add(stretch);
      if (stretch.billed()) addByMonth(millis, from, to);
    }
    SortedMap<YearMonth, Long> seconds = new TreeMap<>();
    // Per session and month, charged milliseconds are rounded up to whole seconds.
    millis.forEach((month, ms) -> seconds.put(month, (ms + 999) / 1000));
    return new SessionCharge(List.copyOf(stretches), Collections.unmodifiableSortedMap(seconds));
  }

  private static Stretch stretch(Phase phase, Phase next, Instant from, Instant to) {
    return switch (phase) {
      case ACTIVE, GRACE_PERIOD -> new Stretch(phase.apiName, from, to, true, null);
      // An idle stretch that ends in a resume was continuous usage; one that ends otherwise is free.
      case IDLE -> next == Phase.ACTIVE
          ? new Stretch(phase.apiName, from, to, true, RESUMED_WHY)
          : new Stretch(phase.apiName, from, to, false, next == null ? STILL_IDLE_WHY : EXPIRED_WHY);
      default -> new Stretch(phase.apiName, from, to, false, PROVISIONING_WHY);
    };
  }

  private static void addByMonth(Map<YearMonth, Long> millis, Instant from, Instant to) {
    Instant start = from;
    while (start.isBefore(to)) {
      YearMonth month = YearMonth.from(start.atZone(ZoneOffset.UTC));
      Instant monthEnd = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
      Instant end = to.isBefore(monthEnd) ? to : monthEnd;
      millis.merge(month, end.toEpochMilli() - start.toEpochMilli(), Long::sum);
      start = end;
    }
  }

  /** Amounts are shown rounded half-up to cents. */
  public static long centsHalfUp(long micros) {
    return Math.floorDiv(micros + 5_000, 10_000);
  }

  private static Instant max(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }
}
