package dev.offload.session;

import dev.offload.CborSerializable;
import dev.offload.runner.PublishedPort;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What happened to a session, as persisted in the journal. Append-only: a field may be added
 * with a default, never renamed or removed, and the class names stay (the journal stores them).
 * Every event carries {@code at} (the entity clock, millisecond precision) and {@code prevHash},
 * the SHA-256 of the previous event's canonical form, which makes the journal tamper-evident.
 */
public sealed interface SessionEvent extends CborSerializable {

  Instant at();

  String prevHash();

  record SessionRequested(
      String sessionId,
      String org,
      String user,
      String runnerClass,
      int idleTimeoutSeconds,
      Map<String, String> labels,
      Instant provisioningDeadline,
      Instant at,
      String prevHash)
      implements SessionEvent {}

  record RunnerAssigned(String runnerId, String runnerClass, String endpoint, Instant at, String prevHash)
      implements SessionEvent {}

  record SessionActivated(Instant at, String prevHash) implements SessionEvent {}

  record GracePeriodStarted(Instant idleAt, Instant at, String prevHash) implements SessionEvent {}

  record ActivityResumed(String reason, Instant at, String prevHash) implements SessionEvent {}

  record SessionIdled(Instant expiresAt, Instant at, String prevHash) implements SessionEvent {}

  record SessionResumed(String reason, Instant at, String prevHash) implements SessionEvent {}

  record SessionTerminated(String reason, String by, Instant at, String prevHash) implements SessionEvent {}

  record ContainerStarted(String containerId, String image, Instant at, String prevHash)
      implements SessionEvent {}

  record ContainerStopped(String containerId, Instant at, String prevHash) implements SessionEvent {}

  /**
   * What went wrong with the session's runner, in words an operator can act on (a refused SSH
   * login, a changed host key, a runner gone): recorded while a session waits for a runner, and
   * just before a termination it explains. Changes no state of lifecycle.md.
   */
  record RunnerFailureReported(String runnerId, String detail, Instant at, String prevHash) implements SessionEvent {}

  /** What a running container publishes on the runner, replacing what it published before. */
  record PortsPublished(String containerId, String name, List<PublishedPort> ports, Instant at, String prevHash)
      implements SessionEvent {}
}
