package dev.offload.runner;

import dev.offload.runner.RunnerPool.Lease;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Lease requests waiting for a runner, first come first served per class. Kept in memory only:
 * after a restart sessions ask again, which is cheaper than persisting every wait.
 */
public record LeaseQueue(Map<String, List<Lease>> waiting) {

  public LeaseQueue {
    Map<String, List<Lease>> copy = new LinkedHashMap<>();
    waiting.forEach((runnerClass, requests) -> {
      if (!requests.isEmpty()) {
        copy.put(runnerClass, List.copyOf(requests));
      }
    });
    waiting = Collections.unmodifiableMap(copy);
  }

  public static LeaseQueue empty() {
    return new LeaseQueue(Map.of());
  }

  /** A session asking again keeps its turn; its newer deadline and reply address replace the old. */
  public LeaseQueue join(Lease request) {
    Map<String, List<Lease>> next = new LinkedHashMap<>(waiting);
    List<Lease> queue = new ArrayList<>(next.getOrDefault(request.runnerClass(), List.of()));
    int turn = indexOf(queue, request.sessionId());
    if (turn >= 0) {
      queue.set(turn, request);
    } else {
      queue.add(request);
    }
    next.put(request.runnerClass(), queue);
    return new LeaseQueue(next);
  }

  public Optional<Lease> first(String runnerClass) {
    return waiting.getOrDefault(runnerClass, List.of()).stream().findFirst();
  }

  /** Every request waiting for the class, in turn. */
  public List<Lease> all(String runnerClass) {
    return waiting.getOrDefault(runnerClass, List.of());
  }

  public int waitingFor(String runnerClass) {
    return waiting.getOrDefault(runnerClass, List.of()).size();
  }

  public Optional<Lease> waiting(String sessionId) {
    return waiting.values().stream()
        .flatMap(List::stream)
        .filter(l -> l.sessionId().equals(sessionId))
        .findFirst();
  }

  public LeaseQueue without(String sessionId) {
    Map<String, List<Lease>> next = new LinkedHashMap<>();
    waiting.forEach((runnerClass, requests) ->
        next.put(runnerClass,
            requests.stream().filter(l -> !l.sessionId().equals(sessionId)).toList()));
    return new LeaseQueue(next);
  }

  /** Requests whose provisioning deadline is at or before {@code now}. */
  public List<Lease> expired(Instant now) {
    return waiting.values().stream()
        .flatMap(List::stream)
        .filter(l -> !l.deadline().isAfter(now))
        .toList();
  }

  private static int indexOf(List<Lease> queue, String sessionId) {
    for (int i = 0; i < queue.size(); i++) {
      if (queue.get(i).sessionId().equals(sessionId)) {
        return i;
      }
    }
    return -1;
  }
}
