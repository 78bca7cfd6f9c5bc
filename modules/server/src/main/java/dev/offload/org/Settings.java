package dev.offload.org;

import java.util.List;

/**
 * An organisation's settings (api.md "Settings JSON"); {@code monthlyLimitCents} null = no limit.
 */
public record Settings(
    boolean offloadEnabled,
    int idleTimeoutSeconds,
    boolean allowUserIdleTimeout,
    int maxSessionsPerUser,
    int maxLiveSessions,
    boolean onDemandEnabled,
    Long monthlyLimitCents,
    List<String> runnerClasses) {

  /**
   * The idle timeout range of lifecycle.md "Timing rules", for organisations, users and requests.
   */
  public static final int MIN_IDLE_TIMEOUT_SECONDS = 10;

  public static final int MAX_IDLE_TIMEOUT_SECONDS = 3600;

  public Settings {
    runnerClasses = List.copyOf(runnerClasses);
  }

  /** A new organisation's settings: the values of api.md's example, every runner class allowed. */
  public static Settings defaults(List<String> runnerClasses) {
    return new Settings(true, 300, true, 1, 100, false, null, runnerClasses);
  }
}
