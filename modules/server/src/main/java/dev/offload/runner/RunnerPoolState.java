package dev.offload.runner;

import dev.offload.CborSerializable;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The pool's persisted state and its lease rules: the runners it provisioned (with the endpoint
 * their provider reported, so exec runners are found again after a restart), which runner each
 * session holds, which released runners still need their wipe, and which are draining.
 *
 * <p>{@code runners}, {@code dirty} and {@code draining} were added after the first release; a
 * snapshot without them reads them as empty.
 */
public record RunnerPoolState(
    Map<String, RunnerLease> leases,
    Map<String, Instant> freeSince,
    Map<String, RunnerInfo> runners,
    Set<String> dirty,
    Set<String> draining)
    implements CborSerializable {

  public RunnerPoolState {
    leases = Map.copyOf(leases);
    freeSince = Map.copyOf(freeSince);
    runners = runners == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(runners));
    dirty = dirty == null ? Set.of() : Set.copyOf(dirty);
    draining = draining == null ? Set.of() : Set.copyOf(draining);
  }

  public static RunnerPoolState empty() {
    return new RunnerPoolState(Map.of(), Map.of(), Map.of(), Set.of(), Set.of());
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

  /** Free, wiped and not draining: what a session may be given (once its health is known). */
  public boolean isClean(String runnerId) {
    return runners.containsKey(runnerId)
        && !isLeased(runnerId)
        && !dirty.contains(runnerId)
        && !draining.contains(runnerId);
  }

  public RunnerPoolState provisioned(RunnerInfo runner, Instant at) {
    Map<String, RunnerInfo> all = new LinkedHashMap<>(runners);
    all.put(runner.id(), runner);
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.put(runner.id(), at);
    return new RunnerPoolState(leases, free, all, dirty, draining);
  }

  /** The same runner at the endpoint its provider reports after a restart. */
  public RunnerPoolState adopted(RunnerInfo runner) {
    Map<String, RunnerInfo> all = new LinkedHashMap<>(runners);
    all.put(runner.id(), runner);
    return new RunnerPoolState(leases, freeSince, all, dirty, draining);
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
    return new RunnerPoolState(next, free, runners, dirty, draining);
  }

  /** Released runners carry the last session's containers until their wipe succeeds. */
  public RunnerPoolState released(String runnerId, Instant at) {
    Map<String, RunnerLease> next = new HashMap<>(leases);
    next.remove(runnerId);
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.put(runnerId, at);
    Set<String> unwiped = new HashSet<>(dirty);
    if (runners.containsKey(runnerId)) {
      unwiped.add(runnerId);
    }
    return new RunnerPoolState(next, free, runners, unwiped, draining);
  }

  public RunnerPoolState wiped(String runnerId, Instant at) {
    Set<String> unwiped = new HashSet<>(dirty);
    unwiped.remove(runnerId);
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.put(runnerId, at);
    return new RunnerPoolState(leases, free, runners, unwiped, draining);
  }

  public RunnerPoolState drained(String runnerId) {
    Set<String> drain = new HashSet<>(draining);
    drain.add(runnerId);
    return new RunnerPoolState(leases, freeSince, runners, dirty, drain);
  }

  /** Gone for good: its lease (if any) ends with it. */
  public RunnerPoolState retired(String runnerId) {
    Map<String, RunnerLease> next = new HashMap<>(leases);
    next.remove(runnerId);
    Map<String, Instant> free = new HashMap<>(freeSince);
    free.remove(runnerId);
    Map<String, RunnerInfo> all = new LinkedHashMap<>(runners);
    all.remove(runnerId);
    Set<String> unwiped = new HashSet<>(dirty);
    unwiped.remove(runnerId);
    Set<String> drain = new HashSet<>(draining);
    drain.remove(runnerId);
    return new RunnerPoolState(next, free, all, unwiped, drain);
  }
}
