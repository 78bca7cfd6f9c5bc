package dev.offload.runner;

import dev.offload.CborSerializable;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pool's persisted state and its lease rules: which runner each session holds, and since
 * when each free runner has been free. The runners themselves come from the catalogue at start.
 */
public record RunnerPoolState(Map<String, RunnerLease> leases, Map<String, Instant> freeSince)
    implements CborSerializable {

  public RunnerPoolState {
    leases = Map.copyOf(leases);
    freeSince = Map.copyOf(freeSince);
  }

  public static RunnerPoolState empty() {
    return new RunnerPoolState(Map.of(), Map.of());
  }

  /** The runner a session holds; a session holds at most one. */
  public Optional<RunnerLease> leaseOf(String sessionId) {
    return leases.values().stream().filter(l -> l.sessionId().equals(sessionId)).findFirst();
  }

  public boolean isLeased(String runnerId) {
    return leases.containsKey(runnerId);
  }

  /** Only the holder's release counts; anything else is a repeat or a stale request. */
  public boolean holds(String sessionId, String runnerId) {
    RunnerLease lease = leases.get(runnerId);
    return lease != null && lease.sessionId().equals(sessionId);
  }

  public static boolean offers(List<RunnerInfo> offered, String runnerClass) {
    return offered.stream().anyMatch(r -> r.runnerClass().equals(runnerClass));
  }

  /** The first runner of the class, in catalogue order, that no session holds. */
  public Optional<RunnerInfo> freeRunner(List<RunnerInfo> offered, String runnerClass) {
    return offered.stream()
        .filter(r -> r.runnerClass().equals(runnerClass) && !isLeased(r.id()))
        .findFirst();
  }

  /** A runner is never leased to two sessions, and a session never holds two runners. */
  public RunnerPoolState leased(String runnerId, String sessionId, Instant at) {
    RunnerLease current = leases.get(runnerId);
    if (current != null) {
      throw new IllegalStateException(
          "runner " + runnerId + " is leased to session " + current.sessionId() + " already");
    }
    leaseOf(sessionId).ifPresent(held -> {
      throw new IllegalStateException(
          "session " + sessionId + " holds runner " + held.runnerId() + " already");
    });
    Map<String, RunnerLease> next = new HashMap<>(leases);
    next.put(runnerId, new RunnerLease(runnerId, sessionId, at));
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.remove(runnerId);
    return new RunnerPoolState(next, free);
  }

  public RunnerPoolState released(String runnerId, Instant at) {
    Map<String, RunnerLease> next = new HashMap<>(leases);
    next.remove(runnerId);
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.put(runnerId, at);
    return new RunnerPoolState(next, free);
  }

  /** Offered runners in catalogue order; one never leased counts as free since the pool started. */
  public List<RunnerPool.RunnerStatus> statuses(List<RunnerInfo> offered, Instant poolStarted) {
    return offered.stream()
        .map(r -> {
          RunnerLease lease = leases.get(r.id());
          return lease == null
              ? new RunnerPool.RunnerStatus(r.id(), r.runnerClass(), r.provider(), "warm", null,
                  freeSince.getOrDefault(r.id(), poolStarted), r.hostKeyFingerprint())
              : new RunnerPool.RunnerStatus(r.id(), r.runnerClass(), r.provider(), "leased",
                  lease.sessionId(), lease.since(), r.hostKeyFingerprint());
        })
        .toList();
  }
}
