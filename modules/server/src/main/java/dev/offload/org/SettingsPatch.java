package dev.offload.org;

import java.util.List;

/** A settings update as sent in a PUT: a null field keeps the current value. */
public record SettingsPatch(
    Boolean offloadEnabled,
    Integer idleTimeoutSeconds,
    Boolean allowUserIdleTimeout,
    Integer maxSessionsPerUser,
    Integer maxLiveSessions,
    Boolean onDemandEnabled,
    Long monthlyLimitCents,
    List<String> runnerClasses) {}
