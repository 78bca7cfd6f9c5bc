package dev.offload.runner;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the pool knows about its runners in this incarnation only: which it has verified since it
 * started, their last health checks, the creates and destroys in flight. None of it is persisted:
 * after a restart every runner is adopted and verified again before it is leased.
 */
final class RunnerRuntime {

  /**
   * A runner whose SSH login or host key was refused: out of rotation until it verifies.
   * {@code since} is its first refusal for this reason, {@code at} the latest try.
   */
  record Refused(RunnerInfo runner, String reason, Instant since, Instant at) {
    String id() {
      return runner.id();
    }
  }

  private final Set<String> ready = new HashSet<>();
  private final Set<String> busy = new HashSet<>();
  private final Set<String> checking = new HashSet<>();
  private final Map<String, Instant> lastHealthAt = new HashMap<>();
  private final Map<String, Instant> lastOkAt = new HashMap<>();
  private final Set<String> failing = new HashSet<>();
  private final Map<String, String> failure = new HashMap<>();
  /** Created by their provider but refused at verification, newest last; bounded per class by {@code max}. */
  private final Map<String, Refused> refused = new java.util.LinkedHashMap<>();
  private final Map<String, RunnerInfo> destroying = new HashMap<>();
  private final Map<String, Integer> provisioning = new HashMap<>();

  /** Verified over SSH in this incarnation and not failing its health checks. */
  boolean isReady(String runnerId) {
    return ready.contains(runnerId) && !failing.contains(runnerId);
  }

  void verified(String runnerId, Instant at) {
    ready.add(runnerId);
    lastOkAt.put(runnerId, at);
    failing.remove(runnerId);
  }

  /** A wipe or adoption is in flight: no second one, and no lease, until it answers. */
  boolean startBusy(String runnerId) {
    return busy.add(runnerId);
  }

  void endBusy(String runnerId) {
    busy.remove(runnerId);
  }

  boolean startCheck(String runnerId) {
    return checking.add(runnerId);
  }

  void checked(String runnerId, boolean ok, String detail, Instant at) {
    checking.remove(runnerId);
    lastHealthAt.put(runnerId, at);
    if (ok) {
      lastOkAt.put(runnerId, at);
      failing.remove(runnerId);
      failure.remove(runnerId);
    } else {
      failing.add(runnerId);
      failure.put(runnerId, detail);
    }
  }

  /**
   * The runner failed verification and was given back to its provider; the newest refusals of a
   * class are kept, at most {@code max}, so a provider handing out new ids cannot grow the list.
   */
  void refused(RunnerInfo runner, String reason, Instant at, int max) {
    Refused before = refused.remove(runner.id());
    Instant since = before != null && before.reason().equals(reason) ? before.since() : at;
    refused.put(runner.id(), new Refused(runner, reason, since, at));
    List<String> ofClass = refused.values().stream()
        .filter(r -> r.runner().runnerClass().equals(runner.runnerClass())).map(Refused::id).toList();
    for (int i = 0; i < ofClass.size() - Math.max(1, max); i++) {
      refused.remove(ofClass.get(i));
    }
  }

  /** Verified after all (a key was authorised or re-pinned): no longer refused. */
  void accepted(String runnerId) {
    refused.remove(runnerId);
  }

  /** The latest refusal of a class, what a session waiting for it is told. */
  java.util.Optional<Refused> refusedOf(String runnerClass) {
    Refused latest = null;
    for (Refused r : refused.values()) {
      if (r.runner().runnerClass().equals(runnerClass)) {
        latest = r;
      }
    }
    return java.util.Optional.ofNullable(latest);
  }

  /** How long the runner has gone without a good check; zero while it answers. */
  Duration failingFor(String runnerId, Instant now) {
    if (!failing.contains(runnerId)) {
      return Duration.ZERO;
    }
    return Duration.between(lastOkAt.getOrDefault(runnerId, now), now);
  }

  boolean isFailing(String runnerId) {
    return failing.contains(runnerId);
  }

  void provisioningStarted(String runnerClass) {
    provisioning.merge(runnerClass, 1, Integer::sum);
  }

  void provisioningEnded(String runnerClass) {
    provisioning.merge(runnerClass, -1, Integer::sum);
  }

  int provisioning(String runnerClass) {
    return provisioning.getOrDefault(runnerClass, 0);
  }

  Map<String, Integer> provisioning() {
    return Map.copyOf(provisioning);
  }

  void destroying(RunnerInfo runner) {
    forget(runner.id());
    destroying.put(runner.id(), runner);
  }

  void destroyed(String runnerId) {
    destroying.remove(runnerId);
  }

  /**
   * How many creates to start for a class: enough for {@code min-warm} spare runners plus one per
   * waiting session, counting creates in flight, never beyond {@code max} runners in all.
   */
  int toCreate(RunnerPoolState state, FleetSettings.RunnerClass settings, int waiting) {
    List<RunnerInfo> ofClass = state.runners().values().stream()
        .filter(r -> r.runnerClass().equals(settings.name())).toList();
    long spare = ofClass.stream()
        .filter(r -> !state.isLeased(r.id()) && !state.draining().contains(r.id()) && !isFailing(r.id()))
        .count();
    int inFlight = provisioning(settings.name());
    long wanted = settings.minWarm() + waiting - spare - inFlight;
    long room = settings.max() - ofClass.size() - inFlight;
    return (int) Math.max(0, Math.min(wanted, room));
  }

  /** Every runner the pool tracks, by id: its state as the API shows it. */
  List<RunnerPool.RunnerStatus> statuses(RunnerPoolState state) {
    List<RunnerPool.RunnerStatus> statuses = new ArrayList<>();
    for (RunnerInfo r : state.runners().values()) {
      RunnerLease lease = state.leases().get(r.id());
      String status = isFailing(r.id()) ? "unhealthy"
          : lease != null ? "leased"
          : state.dirty().contains(r.id()) ? "wiping"
          : isReady(r.id()) ? "warm"
          : "provisioning";
      statuses.add(new RunnerPool.RunnerStatus(r.id(), r.runnerClass(), r.provider(), status,
          lease == null ? null : lease.sessionId(),
          lease == null ? state.freeSince().get(r.id()) : lease.since(),
          r.hostKeyFingerprint(), lastHealthAt.get(r.id()), state.draining().contains(r.id()),
          isFailing(r.id()) ? failure.get(r.id()) : null));
    }
    for (RunnerInfo r : destroying.values()) {
      statuses.add(new RunnerPool.RunnerStatus(r.id(), r.runnerClass(), r.provider(), "destroying", null, null,
          r.hostKeyFingerprint(), null, false, null));
    }
    for (Refused r : refused.values()) {
      if (state.runners().containsKey(r.id()) || destroying.containsKey(r.id())) {
        continue;
      }
      statuses.add(new RunnerPool.RunnerStatus(r.id(), r.runner().runnerClass(), r.runner().provider(), "unhealthy",
          null, r.since(), r.runner().hostKeyFingerprint(), r.at(), false, r.reason()));
    }
    statuses.sort(Comparator.comparing(RunnerPool.RunnerStatus::id));
    return statuses;
  }

  private void forget(String runnerId) {
    ready.remove(runnerId);
    busy.remove(runnerId);
    checking.remove(runnerId);
    lastHealthAt.remove(runnerId);
    lastOkAt.remove(runnerId);
    failing.remove(runnerId);
    failure.remove(runnerId);
  }
}
