package dev.offload.session;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.offload.CborSerializable;
import dev.offload.runner.PublishedPort;
import dev.offload.session.SessionEvent.*;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A session as its journal says it is: the five states of lifecycle.md and everything the API
 * shows about them. Immutable; {@link #apply} is the only way it changes, and the rules that
 * decide which event comes next are plain methods here, so they read (and are tested) as the
 * specification without an actor system.
 */
public record SessionState(
    String id,
    Phase phase,
    String org,
    String user,
    String runnerClass,
    int idleTimeoutSeconds,
    Map<String, String> labels,
    Instant createdAt,
    Instant provisioningDeadline,
    String runnerId,
    String runnerEndpoint,
    Instant activatedAt,
    Instant idleAt,
    Instant expiresAt,
    Instant terminatedAt,
    String terminationReason,
    Map<String, String> runningContainers,
    int containersStarted,
    Map<String, Integer> imagesStarted,
    List<PhaseChange> history,
    Instant lastEventAt,
    String lastHash,
    List<ContainerPort> ports,
    RunnerError runnerError)
    implements CborSerializable {

  /** The latest runner failure the session was told about; null while there is none. */
  public record RunnerError(String runnerId, String message, Instant at) implements CborSerializable {}

  /**
   * A port a running container publishes on the runner, as the API lists it: reachable through
   * {@code /v1/sessions/{id}/ports/{hostPort}} while the container runs.
   */
  public record ContainerPort(String container, int hostPort, String protocol, int containerPort, String name)
      implements CborSerializable {}

  /**
   * From {@code at} on, the session was in {@code phase}: what billing walks. {@code at} is
   * clamped to the latest instant of any earlier event (billing.md), so a node with a slower
   * clock never makes time run backwards.
   */
  public record PhaseChange(Phase phase, Instant at) implements CborSerializable {}

  public SessionState {
    // Snapshots in the index written before a field existed read it as null.
    labels = labels == null ? Map.of() : labels;
    runningContainers = runningContainers == null ? Map.of() : runningContainers;
    imagesStarted = imagesStarted == null ? Map.of() : imagesStarted;
    history = history == null ? List.of() : history;
    ports = ports == null ? List.of() : ports;
  }

  /** The session states, with their API spelling. {@code NEW} is an entity with no events yet. */
  public enum Phase {
    NEW("new"),
    PROVISIONING("provisioning"),
    ACTIVE("active"),
    GRACE_PERIOD("grace-period"),
    IDLE("idle"),
    TERMINATED("terminated");

    public final String apiName;

    Phase(String apiName) {
      this.apiName = apiName;
    }
  }

  /** Termination reasons, as the API spells them. */
  public static final String STOPPED = "stopped";
  public static final String IDLE_EXPIRED = "idle-expired";
  public static final String PROVISIONING_FAILED = "provisioning-failed";
  public static final String PROVISIONING_TIMEOUT = "provisioning-timeout";
  public static final String USAGE_LIMIT = "usage-limit";
  public static final String RUNNER_LOST = "runner-lost";
  public static final String DISABLED = "disabled";

  public static SessionState empty(String id) {
    return new SessionState(
        id, Phase.NEW, null, null, null, 0, Map.of(), null, null, null, null, null, null, null,
        null, null, Map.of(), 0, Map.of(), List.of(), null, EventHash.genesis(id), List.of(), null);
  }

  @JsonIgnore
  public boolean isNew() {
    return phase == Phase.NEW;
  }

  @JsonIgnore
  public boolean isTerminated() {
    return phase == Phase.TERMINATED;
  }

  /** Charged and holding a runner with open tunnels: Active or GracePeriod. */
  @JsonIgnore
  public boolean isRunning() {
    return phase == Phase.ACTIVE || phase == Phase.GRACE_PERIOD;
  }

  @JsonIgnore
  public boolean hasRunner() {
    return runnerId != null;
  }

  // ---- events the rules produce; each links to the chain through lastHash ----

  public SessionRequested requested(
      String org, String user, String runnerClass, int idleTimeoutSeconds,
      Map<String, String> labels, Duration provisioningTimeout, Instant now) {
    return new SessionRequested(
        id, org, user, runnerClass, idleTimeoutSeconds, Map.copyOf(labels),
        now.plus(provisioningTimeout), now, lastHash);
  }

  public RunnerAssigned runnerAssigned(String runnerId, String runnerClass, String endpoint, Instant now) {
    return new RunnerAssigned(runnerId, runnerClass, endpoint, now, lastHash);
  }

  public SessionActivated activated(Instant now) {
    return new SessionActivated(now, lastHash);
  }

  public GracePeriodStarted gracePeriodStarted(Instant now) {
    return new GracePeriodStarted(now.plusSeconds(idleTimeoutSeconds), now, lastHash);
  }

  public ActivityResumed activityResumed(String reason, Instant now) {
    return new ActivityResumed(reason, now, lastHash);
  }

  public SessionIdled idled(Duration preservationWindow, Instant now) {
    return new SessionIdled(now.plus(preservationWindow), now, lastHash);
  }

  public SessionResumed resumed(String reason, Instant now) {
    return new SessionResumed(reason, now, lastHash);
  }

  public SessionTerminated terminated(String reason, String by, Instant now) {
    return new SessionTerminated(reason, by, now, lastHash);
  }

  public ContainerStarted containerStarted(String containerId, String image, Instant now) {
    return new ContainerStarted(containerId, image, now, lastHash);
  }

  public ContainerStopped containerStopped(String containerId, Instant now) {
    return new ContainerStopped(containerId, now, lastHash);
  }

  /**
   * The event recording what a container publishes, or empty when that is already known or the
   * container is not running here (a report that arrives after its stop changes nothing).
   */
  public Optional<SessionEvent> portsPublished(String containerId, String name, List<PublishedPort> published, Instant now) {
    if (!runningContainers.containsKey(containerId)) return Optional.empty();
    List<ContainerPort> after = portsOf(containerId, name, published);
    List<ContainerPort> before = ports.stream().filter(p -> p.container().equals(containerId)).toList();
    if (after.equals(before)) return Optional.empty();
    return Optional.of(new PortsPublished(containerId, name, List.copyOf(published), now, lastHash));
  }

  /**
   * The event recording a runner failure, or empty once terminated or when the same failure of the
   * same runner is recorded already (a runner retried every health interval says it again and again).
   */
  public Optional<SessionEvent> runnerFailed(String failedRunnerId, String detail, Instant now) {
    if (isTerminated() || isNew()) return Optional.empty();
    if (runnerError != null && runnerError.runnerId().equals(failedRunnerId) && runnerError.message().equals(detail)) {
      return Optional.empty();
    }
    return Optional.of(new RunnerFailureReported(failedRunnerId, detail, now, lastHash));
  }

  /** Whether a running container publishes TCP port {@code hostPort}: the ports route's rule. */
  public boolean publishesTcp(int hostPort) {
    return ports.stream().anyMatch(p -> p.hostPort() == hostPort && "tcp".equals(p.protocol()));
  }

  private static List<ContainerPort> portsOf(String containerId, String name, List<PublishedPort> published) {
    return published.stream()
        .map(p -> new ContainerPort(containerId, p.hostPort(), p.protocol(), p.containerPort(), name == null ? "" : name))
        .toList();
  }

  // ---- rules ----

  /** The instant this state ends by itself (provisioning deadline, idleAt, expiresAt), if any. */
  @JsonIgnore
  public Optional<Instant> deadline() {
    return Optional.ofNullable(
        switch (phase) {
          case PROVISIONING -> provisioningDeadline;
          case GRACE_PERIOD -> idleAt;
          case IDLE -> expiresAt;
          default -> null;
        });
  }

  /** The event a deadline produces once {@code now} has reached it, or empty when none is due. */
  public Optional<SessionEvent> onDeadline(Duration preservationWindow, Instant now) {
    Optional<Instant> due = deadline().filter(d -> !now.isBefore(d));
    if (due.isEmpty()) return Optional.empty();
    return Optional.of(
        switch (phase) {
          case PROVISIONING -> terminated(PROVISIONING_TIMEOUT, "system", now);
          case GRACE_PERIOD -> idled(preservationWindow, now);
          case IDLE -> terminated(IDLE_EXPIRED, "system", now);
          default -> throw new IllegalStateException("no deadline in " + phase);
        });
  }

  /**
   * The transition that a change of activity causes: an Active session that is no longer busy
   * starts its grace period, a session in its grace period that is busy again is Active. Idle
   * sessions resume only after their runner is verified again, so they are not handled here.
   */
  public Optional<SessionEvent> onActivity(boolean busy, String reason, Instant now) {
    if (phase == Phase.ACTIVE && !busy) return Optional.of(gracePeriodStarted(now));
    if (phase == Phase.GRACE_PERIOD && busy) return Optional.of(activityResumed(reason, now));
    return Optional.empty();
  }

  // ---- the event handler ----

  public SessionState apply(SessionEvent event) {
    Draft d = new Draft(this);
    if (event instanceof SessionRequested e) {
      d.phase = Phase.PROVISIONING;
      d.org = e.org();
      d.user = e.user();
      d.runnerClass = e.runnerClass();
      d.idleTimeoutSeconds = e.idleTimeoutSeconds();
      d.labels = e.labels() == null ? Map.of() : e.labels();
      d.createdAt = e.at();
      d.provisioningDeadline = e.provisioningDeadline();
    } else if (event instanceof RunnerAssigned e) {
      d.runnerId = e.runnerId();
      d.runnerEndpoint = e.endpoint();
    } else if (event instanceof SessionActivated e) {
      d.phase = Phase.ACTIVE;
      d.activatedAt = e.at();
      d.runnerError = null; // the wait is over: a runner of the class verified after all
    } else if (event instanceof GracePeriodStarted e) {
      d.phase = Phase.GRACE_PERIOD;
      d.idleAt = e.idleAt();
    } else if (event instanceof ActivityResumed e) {
      d.phase = Phase.ACTIVE;
      d.idleAt = null;
    } else if (event instanceof SessionIdled e) {
      d.phase = Phase.IDLE;
      d.idleAt = null;
      d.expiresAt = e.expiresAt();
    } else if (event instanceof SessionResumed e) {
      d.phase = Phase.ACTIVE;
      d.expiresAt = null;
    } else if (event instanceof SessionTerminated e) {
      d.phase = Phase.TERMINATED;
      d.terminatedAt = e.at();
      d.terminationReason = e.reason();
      d.idleAt = null;
      d.expiresAt = null;
      d.runningContainers = Map.of();
      d.ports = List.of();
    } else if (event instanceof ContainerStarted e) {
      Map<String, String> running = new LinkedHashMap<>(runningContainers);
      if (running.put(e.containerId(), e.image() == null ? "" : e.image()) == null) {
        d.containersStarted++;
        Map<String, Integer> images = new java.util.TreeMap<>(imagesStarted);
        images.merge(e.image() == null ? "" : e.image(), 1, Integer::sum);
        d.imagesStarted = Map.copyOf(images);
      }
      d.runningContainers = Map.copyOf(running);
    } else if (event instanceof ContainerStopped e) {
      Map<String, String> running = new LinkedHashMap<>(runningContainers);
      running.remove(e.containerId());
      d.runningContainers = Map.copyOf(running);
      d.ports = ports.stream().filter(p -> !p.container().equals(e.containerId())).toList();
    } else if (event instanceof PortsPublished e) {
      List<ContainerPort> others = ports.stream().filter(p -> !p.container().equals(e.containerId())).toList();
      List<ContainerPort> all = new ArrayList<>(others);
      all.addAll(portsOf(e.containerId(), e.name(), e.ports() == null ? List.of() : e.ports()));
      d.ports = List.copyOf(all);
    } else if (event instanceof RunnerFailureReported e) {
      d.runnerError = new RunnerError(e.runnerId(), e.detail(), e.at());
    }
    Instant clamped = lastEventAt == null || event.at().isAfter(lastEventAt) ? event.at() : lastEventAt;
    d.lastEventAt = clamped;
    if (d.phase != phase) {
      List<PhaseChange> changes = new ArrayList<>(history);
      changes.add(new PhaseChange(d.phase, clamped));
      d.history = List.copyOf(changes);
    }
    d.lastHash = EventHash.of(event);
    return d.build();
  }

  /** A mutable copy used only inside {@link #apply}, so each case names just what it changes. */
  private static final class Draft {
    private final String id;
    Phase phase;
    String org, user, runnerClass;
    int idleTimeoutSeconds;
    Map<String, String> labels;
    Instant createdAt, provisioningDeadline;
    String runnerId, runnerEndpoint;
    Instant activatedAt, idleAt, expiresAt, terminatedAt;
    String terminationReason;
    Map<String, String> runningContainers;
    int containersStarted;
    Map<String, Integer> imagesStarted;
    List<PhaseChange> history;
    Instant lastEventAt;
    String lastHash;
    List<ContainerPort> ports;
    RunnerError runnerError;

    Draft(SessionState s) {
      id = s.id; phase = s.phase; org = s.org; user = s.user; runnerClass = s.runnerClass;
      idleTimeoutSeconds = s.idleTimeoutSeconds; labels = s.labels; createdAt = s.createdAt;
      provisioningDeadline = s.provisioningDeadline; runnerId = s.runnerId;
      runnerEndpoint = s.runnerEndpoint; activatedAt = s.activatedAt; idleAt = s.idleAt;
      expiresAt = s.expiresAt; terminatedAt = s.terminatedAt;
      terminationReason = s.terminationReason; runningContainers = s.runningContainers;
      containersStarted = s.containersStarted; imagesStarted = s.imagesStarted; history = s.history;
      lastEventAt = s.lastEventAt; lastHash = s.lastHash; ports = s.ports; runnerError = s.runnerError;
    }

    SessionState build() {
      return new SessionState(
          id, phase, org, user, runnerClass, idleTimeoutSeconds, labels, createdAt,
          provisioningDeadline, runnerId, runnerEndpoint, activatedAt, idleAt, expiresAt,
          terminatedAt, terminationReason, runningContainers, containersStarted, imagesStarted, history, lastEventAt, lastHash,
          ports, runnerError);
    }
  }
}
