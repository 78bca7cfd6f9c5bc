package dev.offload.api;

import dev.offload.session.SessionEntity.SessionView;
import dev.offload.session.SessionState;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** The session JSON of api.md, in its field order. */
record SessionJson(
    String id,
    String org,
    String user,
    String state,
    String runnerClass,
    Map<String, String> runner,
    int idleTimeoutSeconds,
    Instant createdAt,
    Instant activatedAt,
    Instant lastActivityAt,
    Instant idleAt,
    Instant expiresAt,
    Instant terminatedAt,
    String terminationReason,
    int openConnections,
    int runningContainers,
    int containersStarted,
    List<Object> ports,
    String lastActivityReason,
    Map<String, String> labels) {

  static SessionJson of(SessionView view) {
    SessionState s = view.state();
    return new SessionJson(
        s.id(), s.org(), s.user(), s.phase().apiName, s.runnerClass(),
        s.runnerId() == null ? null : Map.of("id", s.runnerId()),
        s.idleTimeoutSeconds(), s.createdAt(), s.activatedAt(), view.lastActivityAt(), s.idleAt(),
        s.expiresAt(), s.terminatedAt(), s.terminationReason(), view.openConnections(),
        s.runningContainers().size(), s.containersStarted(), List.of(), view.lastActivityReason(),
        s.labels());
  }
}
