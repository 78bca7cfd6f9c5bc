package dev.offload.org;

import static dev.offload.org.Settings.MAX_IDLE_TIMEOUT_SECONDS;
import static dev.offload.org.Settings.MIN_IDLE_TIMEOUT_SECONDS;

import dev.offload.ClientError;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * What an owner may set. A value out of range is refused with a message naming the range, never
 * clamped: a silently different setting would surprise the owner later.
 */
final class SettingsRules {

  static final int MAX_SESSIONS_PER_USER = 100;
  static final int MAX_LIVE_SESSIONS = 100_000;

  private SettingsRules() {}

  /**
   * Checks every field the patch sets, in the order of the settings JSON.
   *
   * @return the patch with its runner classes listed once each
   * @throws ClientError naming the first field at fault
   */
  static SettingsPatch check(SettingsPatch patch, List<String> knownRunnerClasses) {
    inRange(
        "idleTimeoutSeconds",
        patch.idleTimeoutSeconds(),
        MIN_IDLE_TIMEOUT_SECONDS,
        MAX_IDLE_TIMEOUT_SECONDS);
    inRange("maxSessionsPerUser", patch.maxSessionsPerUser(), 1, MAX_SESSIONS_PER_USER);
    inRange("maxLiveSessions", patch.maxLiveSessions(), 1, MAX_LIVE_SESSIONS);
    if (patch.monthlyLimitCents() != null && patch.monthlyLimitCents().orElse(0L) < 0) {
      throw ClientError.invalid("monthlyLimitCents", "monthlyLimitCents must be 0 or more");
    }
    if (patch.runnerClasses() == null) {
      return patch;
    }
    return new SettingsPatch(
        patch.offloadEnabled(),
        patch.idleTimeoutSeconds(),
        patch.allowUserIdleTimeout(),
        patch.maxSessionsPerUser(),
        patch.maxLiveSessions(),
        patch.onDemandEnabled(),
        patch.monthlyLimitCents(),
        runnerClasses(patch.runnerClasses(), knownRunnerClasses));
  }

  private static void inRange(String field, Integer value, int min, int max) {
    if (value != null && (value < min || value > max)) {
      throw ClientError.invalid(field, field + " must be between " + min + " and " + max);
    }
  }

  private static List<String> runnerClasses(List<String> wanted, List<String> known) {
    String choices = String.join(", ", known);
    if (wanted.isEmpty()) {
      throw ClientError.invalid(
          "runnerClasses", "runnerClasses must name at least one of: " + choices);
    }
    List<String> unknown = wanted.stream().filter(c -> c == null || !known.contains(c)).toList();
    if (!unknown.isEmpty()) {
      throw ClientError.invalid(
          "runnerClasses", "runnerClasses may only name " + choices + "; unknown: " + unknown);
    }
    return List.copyOf(new LinkedHashSet<>(wanted));
  }
}
