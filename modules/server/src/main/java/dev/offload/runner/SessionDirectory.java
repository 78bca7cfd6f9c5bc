package dev.offload.runner;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What the pool and its container trackers tell sessions. The server wires it to the session
 * shards and the sessions index, so this package never depends on the session package.
 */
public interface SessionDirectory {

  /** False once the session is terminated or unknown; the pool then releases its lease. */
  CompletionStage<Boolean> isLive(String sessionId);

  void containerStarted(String sessionId, String containerId, String image);

  void containerStopped(String sessionId, String containerId);

  /** The ports a running container publishes on the runner; {@code name} without Docker's slash. */
  void portsPublished(String sessionId, String containerId, String name, List<PublishedPort> ports);

  /** The session's runner failed its health checks for {@code runner-lost-after}. */
  void runnerLost(String sessionId, String runnerId, String reason);
}
