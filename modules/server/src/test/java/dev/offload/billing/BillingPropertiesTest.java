package dev.offload.billing;

import static org.junit.jupiter.api.Assertions.*;

import dev.offload.billing.Billing.SessionCharge;
import dev.offload.billing.Billing.Stretch;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionState;
import dev.offload.session.SessionState.Phase;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The billing function against a plain reference model, on random lifecycles that cross month
 * boundaries and whose clock sometimes steps backwards.
 */
class BillingPropertiesTest {

  record Step(int choice, long deltaMillis) {}

  record Lifecycle(List<SessionEvent> events) {
    SessionState folded() {
      SessionState s = SessionState.empty("s");
      for (SessionEvent e : events) s = s.apply(e);
      return s;
    }
  }

  @Property(tries = 400)
  void equalsTheReferenceModel(@ForAll("lifecycles") Lifecycle lifecycle) {
    SessionCharge charge = Billing.charge(lifecycle.folded(), null);
    assertEquals(reference(lifecycle.events()), new TreeMap<>(charge.secondsByMonth()));
  }

  @Property(tries = 400)
  void chargedTimeNeverExceedsWallTime(@ForAll("lifecycles") Lifecycle lifecycle) {
    SessionCharge charge = Billing.charge(lifecycle.folded(), null);
    long billedMillis = charge.stretches().stream().filter(Stretch::billed)
        .mapToLong(s -> Duration.between(s.from(), s.to()).toMillis()).sum();
    List<SessionEvent> events = lifecycle.events();
    Instant first = events.get(0).at();
    Instant last = events.stream().map(SessionEvent::at).reduce((a, b) -> a.isAfter(b) ? a : b).orElseThrow();
    assertTrue(billedMillis <= Duration.between(first, last).toMillis());
    // Rounding up adds less than one second per month charged.
    assertTrue(charge.totalSeconds() * 1000 < billedMillis + 1000L * (charge.secondsByMonth().size() + 1));
  }

  @Property(tries = 400)
  void idleIsChargedExactlyWhenItEndsInAResume(@ForAll("lifecycles") Lifecycle lifecycle) {
    SessionState folded = lifecycle.folded();
    List<SessionState.PhaseChange> history = folded.history();
    for (Stretch s : Billing.charge(folded, null).stretches()) {
      if (s.kind().equals("idle")) {
        int i = 0;
        while (!(history.get(i).phase() == Phase.IDLE && history.get(i).at().equals(s.from()))) i++;
        boolean resumed = i + 1 < history.size() && history.get(i + 1).phase() == Phase.ACTIVE;
        assertEquals(resumed, s.billed(), s.toString());
      }
      if (s.kind().equals("provisioning")) assertFalse(s.billed());
    }
  }

  // ---- the reference model: event by event, months by overlap ----

  static Map<YearMonth, Long> reference(List<SessionEvent> events) {
    List<Phase> phases = new ArrayList<>();
    List<Instant> times = new ArrayList<>();
    SessionState s = SessionState.empty("s");
    Instant clamp = Instant.MIN;
    for (SessionEvent e : events) {
      s = s.apply(e);
      clamp = e.at().isAfter(clamp) ? e.at() : clamp;
      phases.add(s.phase());
      times.add(clamp);
    }
    Map<YearMonth, Long> millis = new TreeMap<>();
    for (int i = 0; i + 1 < events.size(); i++) {
      Phase phase = phases.get(i);
      boolean billed = phase == Phase.ACTIVE || phase == Phase.GRACE_PERIOD
          || (phase == Phase.IDLE && nextOtherPhase(phases, i) == Phase.ACTIVE);
      if (!billed) continue;
      Instant a = times.get(i);
      Instant b = times.get(i + 1);
      for (YearMonth m = month(a); !m.isAfter(month(b)); m = m.plusMonths(1)) {
        Instant start = m.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
        Instant end = m.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
        long overlap = Math.min(b.toEpochMilli(), end.toEpochMilli()) - Math.max(a.toEpochMilli(), start.toEpochMilli());
        if (overlap > 0) millis.merge(m, overlap, Long::sum);
      }
    }
    Map<YearMonth, Long> seconds = new TreeMap<>();
    millis.forEach((m, ms) -> seconds.put(m, (long) Math.ceil(ms / 1000.0)));
    return seconds;
  }

  private static Phase nextOtherPhase(List<Phase> phases, int i) {
    for (int j = i + 1; j < phases.size(); j++) if (phases.get(j) != phases.get(i)) return phases.get(j);
    return null;
  }

  private static YearMonth month(Instant t) {
    return YearMonth.from(t.atZone(ZoneOffset.UTC));
  }

  // ---- random lifecycles ----

  @Provide
  Arbitrary<Lifecycle> lifecycles() {
    Arbitrary<Instant> start = Arbitraries.of(
            Instant.parse("2026-01-31T23:00:00Z"), Instant.parse("2026-02-28T22:30:00Z"),
            Instant.parse("2026-06-15T12:00:00Z"), Instant.parse("2026-12-31T23:59:00Z"))
        .flatMap(t -> Arbitraries.longs().between(-7_200_000, 7_200_000).map(t::plusMillis));
    Arbitrary<Long> delta = Arbitraries.frequencyOf(
        Tuple.of(9, Arbitraries.longs().between(0, 2 * 86_400_000L)),
        Tuple.of(1, Arbitraries.longs().between(-600_000, 0))); // the clock steps backwards
    Arbitrary<List<Step>> steps = Combinators.combine(Arbitraries.integers().between(0, 11), delta)
        .as(Step::new).list().ofMaxSize(25);
    return Combinators.combine(start, steps).as(BillingPropertiesTest::build);
  }

  private static Lifecycle build(Instant start, List<Step> steps) {
    List<SessionEvent> events = new ArrayList<>();
    SessionState s = SessionState.empty("s");
    Instant t = start;
    SessionEvent first = s.requested("acme", "alice", "standard", 60, Map.of(), Duration.ofMinutes(2), t);
    events.add(first);
    s = s.apply(first);
    int container = 0;
    for (Step step : steps) {
      if (s.isTerminated()) break;
      t = t.plusMillis(step.deltaMillis());
      List<SessionEvent> options = new ArrayList<>();
      switch (s.phase()) {
        case PROVISIONING -> {
          options.add(s.hasRunner() ? s.activated(t) : s.runnerAssigned("local-1", "standard", "h:1", t));
          options.add(s.terminated("provisioning-timeout", "system", t));
        }
        case ACTIVE -> {
          options.add(s.gracePeriodStarted(t));
          options.add(s.containerStarted("c" + container++, "img", t));
          options.add(s.terminated("stopped", "alice", t));
        }
        case GRACE_PERIOD -> {
          options.add(s.activityResumed("tunnel-bytes", t));
          options.add(s.idled(Duration.ofMinutes(5), t));
          options.add(s.terminated("usage-limit", "billing", t));
        }
        case IDLE -> {
          options.add(s.resumed("api-resume", t));
          options.add(s.terminated("idle-expired", "system", t));
        }
        default -> throw new IllegalStateException(s.phase().name());
      }
      SessionEvent next = options.get(step.choice() % options.size());
      events.add(next);
      s = s.apply(next);
    }
    return new Lifecycle(List.copyOf(events));
  }
}
