package dev.offload.billing;

import static org.junit.jupiter.api.Assertions.*;

import dev.offload.billing.Billing.SessionCharge;
import dev.offload.billing.Billing.Stretch;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionState;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The worked examples of billing.md, with a 1-minute idle timeout. */
class BillingTest {
  private static final Duration WINDOW = Duration.ofMinutes(5);
  private static final Instant T0 = Instant.parse("2026-11-10T09:00:00Z");

  /** Builds a session's events the way the entity does, minute by minute. */
  private static final class Timeline {
    SessionState state = SessionState.empty("s1");

    Timeline() {
      apply(state.requested("acme", "alice", "standard", 60, Map.of(), Duration.ofMinutes(2), T0));
      apply(state.runnerAssigned("local-1", "standard", "127.0.0.1:2222", T0));
    }

    Timeline apply(SessionEvent event) {
      state = state.apply(event);
      return this;
    }

    Instant t(double minutes) {
      return T0.plusMillis((long) (minutes * 60_000));
    }

    Timeline activated(double m) { return apply(state.activated(t(m))); }
    Timeline grace(double m) { return apply(state.gracePeriodStarted(t(m))); }
    Timeline idle(double m) { return apply(state.idled(WINDOW, t(m))); }
    Timeline resumed(double m) { return apply(state.resumed("api-resume", t(m))); }
    Timeline terminated(double m, String reason) { return apply(state.terminated(reason, "alice", t(m))); }
  }

  @Test
  void idleThenResumeIsChargedAsContinuousUsage() {
    // busy 10 min → grace period 1 min → idle 3 min → resume → busy 5 min → stop
    SessionState s = new Timeline().activated(0).grace(10).idle(11).resumed(14).terminated(19, "stopped").state;
    SessionCharge charge = Billing.charge(s, null);
    assertEquals(19 * 60, charge.totalSeconds());
    Stretch idle = charge.stretches().get(2);
    assertEquals("idle", idle.kind());
    assertTrue(idle.billed());
    assertEquals("resumed within the preservation window", idle.why());
  }

  @Test
  void idleThenExpiryIsNotCharged() {
    // busy 10 min → grace period 1 min → idle → expiry after 5 min
    SessionState s = new Timeline().activated(0).grace(10).idle(11).terminated(16, "idle-expired").state;
    SessionCharge charge = Billing.charge(s, null);
    assertEquals(11 * 60, charge.totalSeconds());
    assertFalse(charge.stretches().get(2).billed());
  }

  @Test
  void aSessionStoppedWhileProvisioningCostsNothing() {
    SessionState s = new Timeline().terminated(1.5, "stopped").state;
    assertEquals(0, Billing.charge(s, null).totalSeconds());
    assertEquals(List.of(new Stretch("provisioning", T0, T0.plusSeconds(90), false, "provisioning is not charged")),
        Billing.charge(s, null).stretches());
  }

  @Test
  void aLiveSessionIsChargedUpToNowInTheViewAndUpToItsLastEventInTheAudit() {
    SessionState s = new Timeline().activated(0).state;
    assertEquals(0, Billing.charge(s, null).totalSeconds());
    assertEquals(120, Billing.charge(s, T0.plusSeconds(120)).totalSeconds());
    SessionState idle = new Timeline().activated(0).grace(1).idle(2).state;
    SessionCharge stillIdle = Billing.charge(idle, T0.plusSeconds(600));
    assertEquals(120, stillIdle.totalSeconds(), "an idle stretch is charged only once it resumes");
    assertEquals("charged only if the session resumes", stillIdle.stretches().get(2).why());
  }

  @Test
  void chargesAreSplitAtMonthBoundariesAndRoundedUpPerMonth() {
    SessionState s = SessionState.empty("s2");
    Instant start = Instant.parse("2026-11-30T23:59:59.500Z");
    s = s.apply(s.requested("acme", "alice", "standard", 60, Map.of(), Duration.ofMinutes(2), start));
    s = s.apply(s.activated(start));
    s = s.apply(s.terminated("stopped", "alice", Instant.parse("2026-12-01T00:00:01.200Z")));
    SessionCharge charge = Billing.charge(s, null);
    assertEquals(Map.of(YearMonth.of(2026, 11), 1L, YearMonth.of(2026, 12), 2L), charge.secondsByMonth());
  }

  @Test
  void moneyIsIntegerAndRoundedHalfUpToCents() {
    SessionState s = new Timeline().activated(0).grace(10).idle(11).resumed(14).terminated(19, "stopped").state;
    assertEquals(19L * 60 * 250, Billing.charge(s, null).micros(250));
    assertEquals(0, Billing.centsHalfUp(4_999));
    assertEquals(1, Billing.centsHalfUp(5_000));
    assertEquals(29, Billing.centsHalfUp(285_000));
  }
}
