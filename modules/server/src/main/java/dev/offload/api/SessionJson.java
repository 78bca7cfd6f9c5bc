package dev.offload.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.offload.billing.Billing;
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
    RunnerErrorJson runnerError,
    int openConnections,
    int runningContainers,
    int containersStarted,
    List<SessionState.ContainerPort> ports,
    long billableSeconds,
    List<StretchJson> stretches,
    String lastActivityReason,
    Map<String, String> labels) {

  /** One interval of the session's own ledger; {@code why} only where billing.md gives a reason. */
  record StretchJson(
      String kind, Instant from, Instant to, boolean billed,
      @JsonInclude(JsonInclude.Include.NON_NULL) String why) {}

  /**
   * The latest failure of a runner meant for this session (a refused SSH login, a changed host
   * key): why it still provisions, or what ended it; null when there was none.
   */
  record RunnerErrorJson(String runner, String message, Instant at) {}

  /** A live session is charged up to now, as the usage view does (billing.md). */
  static SessionJson of(SessionView view) {
    SessionState s = view.state();
    Billing.SessionCharge charge = Billing.charge(s, s.isTerminated() ? null : Instant.now());
    return new SessionJson(
        s.id(), s.org(), s.user(), s.phase().apiName, s.runnerClass(),
        s.runnerId() == null ? null : Map.of("id", s.runnerId()),
        s.idleTimeoutSeconds(), s.createdAt(), s.activatedAt(), view.lastActivityAt(), s.idleAt(),
        s.expiresAt(), s.terminatedAt(), s.terminationReason(),
        s.runnerError() == null ? null
            : new RunnerErrorJson(s.runnerError().runnerId(), s.runnerError().message(), s.runnerError().at()),
        view.openConnections(),
        s.runningContainers().size(), s.containersStarted(), s.ports(), charge.totalSeconds(),
        charge.stretches().stream()
            .map(x -> new StretchJson(x.kind(), x.from(), x.to(), x.billed(), x.why())).toList(),
        view.lastActivityReason(), s.labels());
  }
}
