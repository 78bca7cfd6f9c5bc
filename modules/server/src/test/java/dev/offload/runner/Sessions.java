package dev.offload.runner;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ConcurrentHashMap;

/** A session directory that records what the pool reports; sessions are live unless ended here. */
final class Sessions implements SessionDirectory {

  final List<String> reports = new CopyOnWriteArrayList<>();
  final Set<String> ended = ConcurrentHashMap.newKeySet();

  @Override
  public CompletionStage<Boolean> isLive(String sessionId) {
    return CompletableFuture.completedFuture(!ended.contains(sessionId));
  }

  @Override
  public void containerStarted(String sessionId, String containerId, String image) {
    reports.add("started " + sessionId + " " + containerId + " " + image);
  }

  @Override
  public void containerStopped(String sessionId, String containerId) {
    reports.add("stopped " + sessionId + " " + containerId);
  }

  @Override
  public void portsPublished(String sessionId, String containerId, String name, List<PublishedPort> ports) {
    reports.add("ports " + sessionId + " " + containerId + " " + name + " " + ports.stream()
        .map(p -> p.hostPort() + "->" + p.containerPort() + "/" + p.protocol()).toList());
  }

  @Override
  public void runnerLost(String sessionId, String runnerId, String reason) {
    reports.add("lost " + sessionId + " " + runnerId + " " + reason);
  }
}
