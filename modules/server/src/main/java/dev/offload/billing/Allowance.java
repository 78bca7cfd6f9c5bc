package dev.offload.billing;

import dev.offload.CborSerializable;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Committed and on-demand usage (billing.md), as a pure function: charged time consumes the
 * grants valid when it was used, the earliest-expiring first, weighted by runner class; what no
 * grant covers is on-demand, allowed only when the organisation enables it, up to its monthly
 * limit. An organisation that never received a grant is not metered.
 */
public final class Allowance {

  /** Seconds of committed usage, valid from {@code grantedAt} until {@code expiresAt}. */
  public record Grant(String id, String kind, long seconds, Instant grantedAt, Instant expiresAt)
      implements CborSerializable {
    boolean validAt(Instant t) {
      return !t.isBefore(grantedAt) && t.isBefore(expiresAt);
    }
  }

  /** Charged time of one session stretch, with what a second costs and weighs. */
  public record Use(Instant from, Instant to, long microsPerSecond, long weight) {}

  /** What an organisation may do, as of {@code now}, and the figures of {@code now}'s month. */
  public record Summary(
      boolean metered,
      long grantedSeconds,
      long committedUsedSeconds,
      long remainingSeconds,
      long onDemandSeconds,
      long onDemandCents,
      boolean onDemandEnabled,
      boolean exhausted,
      boolean nearlyExhausted,
      String refusal) {}

  public static final Duration TRIAL_VALIDITY = Duration.ofDays(90);
  /** billing.md: a warning when 90 % of the committed usage is used. */
  static final int WARNING_PERCENT = 90;

  private Allowance() {}

  /** When a grant stops being valid: as given, else trials after 90 days, committed at the end of their month. */
  public static Instant expiry(String kind, Instant grantedAt, Instant expiresAt) {
    if (expiresAt != null) return expiresAt;
    if ("trial".equals(kind)) return grantedAt.plus(TRIAL_VALIDITY);
    return YearMonth.from(grantedAt.atZone(ZoneOffset.UTC)).plusMonths(1).atDay(1).atStartOfDay()
        .toInstant(ZoneOffset.UTC);
  }

  public static Summary summarise(
      String org, List<Grant> grants, List<Use> uses, boolean onDemandEnabled, Long monthlyLimitCents, Instant now) {
    if (grants.isEmpty()) {
      return new Summary(false, 0, 0, 0, 0, 0, onDemandEnabled, false, false, null);
    }
    YearMonth month = YearMonth.from(now.atZone(ZoneOffset.UTC));
    Instant monthStart = month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    Instant monthEnd = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    // Milliseconds throughout: rounding each stretch up would charge short stretches twice over.
    Map<String, Long> left = new HashMap<>();
    grants.forEach(g -> left.put(g.id(), g.seconds() * 1000));
    List<Grant> byExpiry = grants.stream().sorted(Comparator.comparing(Grant::expiresAt).thenComparing(Grant::id)).toList();

    long committedUsedMillis = 0;
    long onDemandMillis = 0;
    long onDemandMicros = 0;
    for (Use use : uses.stream().sorted(Comparator.comparing(Use::from)).toList()) {
      long weighted = Math.multiplyExact(Duration.between(use.from(), use.to()).toMillis(), use.weight());
      for (Grant g : byExpiry) {
        if (weighted == 0) break;
        if (!g.validAt(use.from())) continue;
        long take = Math.min(left.get(g.id()), weighted);
        left.put(g.id(), left.get(g.id()) - take);
        weighted -= take;
        if (overlaps(use, monthStart, monthEnd)) committedUsedMillis += take;
      }
      if (weighted > 0 && overlaps(use, monthStart, monthEnd)) {
        // What no grant covered, back in charged (unweighted) time, is on-demand.
        long uncovered = Math.floorDiv(weighted + use.weight() - 1, use.weight());
        onDemandMillis += uncovered;
        onDemandMicros += Math.floorDiv(Math.multiplyExact(uncovered, use.microsPerSecond()), 1000);
      }
    }
    long granted = grants.stream().filter(g -> g.grantedAt().isBefore(monthEnd) && g.expiresAt().isAfter(monthStart))
        .mapToLong(Grant::seconds).sum();
    long remainingMillis = grants.stream().filter(g -> g.validAt(now)).mapToLong(g -> left.get(g.id())).sum();
    long cents = Billing.centsHalfUp(onDemandMicros);
    String refusal = null;
    if (remainingMillis == 0 && !onDemandEnabled) {
      refusal = "organisation " + org + " has used all its committed usage and on-demand usage is off;"
          + " ask an owner to enable on-demand usage or the operator for a grant";
    } else if (remainingMillis == 0 && monthlyLimitCents != null && cents >= monthlyLimitCents) {
      refusal = "organisation " + org + " reached its monthly on-demand limit of " + monthlyLimitCents
          + " cents; ask an owner to raise monthlyLimitCents";
    }
    long validMillis = grants.stream().filter(g -> g.validAt(now)).mapToLong(g -> g.seconds() * 1000).sum();
    boolean nearly = validMillis > 0 && (validMillis - remainingMillis) * 100 >= validMillis * WARNING_PERCENT;
    // Shown in whole seconds: used rounded up, what is left rounded down, as a customer expects.
    return new Summary(true, granted, (committedUsedMillis + 999) / 1000, remainingMillis / 1000,
        (onDemandMillis + 999) / 1000, cents, onDemandEnabled, refusal != null, nearly, refusal);
  }

  /** The charged stretches of a session as uses, priced and weighted by its runner class. */
  public static List<Use> uses(Billing.SessionCharge charge, long microsPerSecond, long weight) {
    List<Use> uses = new ArrayList<>();
    for (Billing.Stretch s : charge.stretches()) {
      if (s.billed()) uses.add(new Use(s.from(), s.to(), microsPerSecond, weight));
    }
    return uses;
  }

  private static boolean overlaps(Use use, Instant start, Instant end) {
    return use.from().isBefore(end) && use.to().isAfter(start);
  }
}
