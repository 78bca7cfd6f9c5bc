package dev.offload.billing;

import static org.junit.jupiter.api.Assertions.*;

import dev.offload.billing.Allowance.Grant;
import dev.offload.billing.Allowance.Summary;
import dev.offload.billing.Allowance.Use;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AllowanceTest {
  private static final Instant DAY1 = Instant.parse("2026-11-01T00:00:00Z");
  private static final Instant NOW = Instant.parse("2026-11-15T12:00:00Z");

  private static Grant grant(String id, long seconds, Instant expiresAt) {
    return new Grant(id, "committed", seconds, DAY1, expiresAt);
  }

  private static Use use(Instant from, long seconds, long weight) {
    return new Use(from, from.plusSeconds(seconds), 139, weight);
  }

  private static Summary summarise(List<Grant> grants, List<Use> uses, boolean onDemand, Long limitCents) {
    return Allowance.summarise("acme", grants, uses, onDemand, limitCents, NOW);
  }

  @Test
  void anOrganisationWithoutGrantsIsNotMetered() {
    Summary s = summarise(List.of(), List.of(use(DAY1, 10_000, 1)), false, null);
    assertFalse(s.metered());
    assertFalse(s.exhausted());
    assertNull(s.refusal());
  }

  @Test
  void committedUsageIsConsumedThenExhausted() {
    Grant g = grant("g", 100, Instant.parse("2026-12-01T00:00:00Z"));
    Summary some = summarise(List.of(g), List.of(use(NOW.minusSeconds(600), 60, 1)), false, null);
    assertEquals(100, some.grantedSeconds());
    assertEquals(60, some.committedUsedSeconds());
    assertEquals(40, some.remainingSeconds());
    assertFalse(some.exhausted());
    assertFalse(some.nearlyExhausted());
    assertTrue(summarise(List.of(g), List.of(use(NOW.minusSeconds(600), 90, 1)), false, null).nearlyExhausted());
    Summary all = summarise(List.of(g), List.of(use(NOW.minusSeconds(600), 130, 1)), false, null);
    assertTrue(all.exhausted());
    assertEquals(30, all.onDemandSeconds(), "what no grant covered is on-demand");
    assertTrue(all.refusal().contains("on-demand usage is off"), all.refusal());
  }

  @Test
  void theEarliestExpiringGrantIsUsedFirst() {
    Grant soon = grant("soon", 50, Instant.parse("2026-11-20T00:00:00Z"));
    Grant later = grant("later", 100, Instant.parse("2026-11-25T00:00:00Z"));
    Summary s = summarise(List.of(later, soon), List.of(use(NOW.minusSeconds(3600), 70, 1)), false, null);
    assertEquals(80, s.remainingSeconds(), "50 from the grant expiring first, then 20 from the other");
    Summary afterFirstExpired = Allowance.summarise("acme", List.of(later, soon),
        List.of(use(NOW.minusSeconds(3600), 70, 1)), false, null, Instant.parse("2026-11-21T00:00:00Z"));
    assertEquals(80, afterFirstExpired.remainingSeconds(), "the expired grant was used up anyway");
  }

  @Test
  void heavierRunnerClassesUseMoreOfAGrant() {
    Grant g = grant("g", 100, Instant.parse("2026-12-01T00:00:00Z"));
    assertEquals(60, summarise(List.of(g), List.of(use(NOW.minusSeconds(600), 10, 4)), false, null).remainingSeconds());
  }

  @Test
  void onDemandRunsUpToTheMonthlyLimit() {
    Grant g = grant("g", 10, Instant.parse("2026-12-01T00:00:00Z"));
    List<Use> uses = List.of(use(NOW.minusSeconds(7200), 3610, 1)); // 3600 s on demand at 139 µ$/s = 50.04 ¢
    Summary unlimited = summarise(List.of(g), uses, true, null);
    assertFalse(unlimited.exhausted());
    assertEquals(3600, unlimited.onDemandSeconds());
    assertEquals(50, unlimited.onDemandCents());
    assertFalse(summarise(List.of(g), uses, true, 51L).exhausted());
    Summary limited = summarise(List.of(g), uses, true, 50L);
    assertTrue(limited.exhausted());
    assertTrue(limited.refusal().contains("monthly on-demand limit of 50 cents"), limited.refusal());
  }

  @Test
  void expiredGrantsNoLongerCount() {
    Grant expired = grant("old", 1000, Instant.parse("2026-11-10T00:00:00Z"));
    Summary s = summarise(List.of(expired), List.of(), false, null);
    assertEquals(0, s.remainingSeconds());
    assertTrue(s.exhausted());
  }

  @Test
  void trialsLastNinetyDaysAndCommittedGrantsTheirMonth() {
    assertEquals(NOW.plus(Duration.ofDays(90)), Allowance.expiry("trial", NOW, null));
    assertEquals(Instant.parse("2026-12-01T00:00:00Z"), Allowance.expiry("committed", NOW, null));
    Instant given = Instant.parse("2027-03-01T00:00:00Z");
    assertEquals(given, Allowance.expiry("trial", NOW, given));
  }
}
