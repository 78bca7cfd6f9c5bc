package dev.offload.tunnel;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import dev.offload.ClientError;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionState.Phase;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tunnels this node bridges, by session, and what they owe their sessions. Once a second it
 * reports the bytes each connection moved (lifecycle.md: at most one message a second) and tells
 * each session which of its connections are open here (so an entity that restarted relearns
 * them), closing them when the answer says the session is Idle or Terminated.
 * Polling rather than subscribing: the entity may live on another node and knows nothing of this
 * node's connections, and a one-second delay is within what "the tunnels are closed" promises
 * while costing one message per session with open tunnels, not per event.
 */
final class TunnelRegistry {

  static final Duration TICK = Duration.ofSeconds(1);
  /** akka-http runs an upgrade's streams as it sends the response; this is long past that. */
  static final Duration UNCLAIMED = Duration.ofSeconds(10);

  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final Map<String, Set<TunnelBridge>> bySession = new ConcurrentHashMap<>();
  /** Connections admitted per session, from the upgrade request until the bridge ends. */
  private final Map<String, Integer> admitted = new ConcurrentHashMap<>();
  private final int maxPerSession;

  TunnelRegistry(ActorSystem<?> system, Duration askTimeout, int maxPerSession) {
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.maxPerSession = maxPerSession;
    system.scheduler().scheduleWithFixedDelay(TICK, TICK, this::tick, system.executionContext());
    TunnelMetrics.count(this);
    system.getWhenTerminated().thenRun(() -> TunnelMetrics.forget(this));
    // A node leaving (rolling restart, scale-down) ends its tunnels first, with the bytes they
    // moved reported while the sessions can still be reached; clients open the next connection
    // through another node.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "drain-tunnels", () -> {
      drain();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    // Bridges whose streams never ran would otherwise hold the SSH reader thread, and with it the
    // node's shutdown, when their channels are closed with the runner connections.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "close-tunnels", () -> {
      bySession.values().forEach(bridges -> bridges.forEach(TunnelBridge::abandon));
      return CompletableFuture.completedFuture(Done.getInstance());
    });
  }

  /**
   * Counts one more connection of {@code sessionId} if it stays within the cap; every admission is
   * ended by {@link #release} or, once bridged, by {@link #remove}.
   */
  boolean admit(String sessionId) {
    boolean[] ok = {false};
    admitted.compute(sessionId, (id, n) -> {
      int count = n == null ? 0 : n;
      ok[0] = count < maxPerSession;
      return ok[0] ? count + 1 : (n == null ? null : n);
    });
    return ok[0];
  }

  void release(String sessionId) {
    admitted.computeIfPresent(sessionId, (id, n) -> n <= 1 ? null : n - 1);
  }

  int maxPerSession() {
    return maxPerSession;
  }

  /** Closes every tunnel of this node with 1001: the client's next connection opens a new one. */
  void drain() {
    bySession.values().forEach(bridges -> bridges.forEach(bridge -> bridge.close(TunnelSocket.GOING_AWAY,
        ClientError.Code.UNAVAILABLE.apiName,
        "this control-plane node is shutting down; the next connection goes through another node")));
  }

  void add(TunnelBridge bridge) {
    bySession.computeIfAbsent(bridge.sessionId(), id -> ConcurrentHashMap.newKeySet()).add(bridge);
  }

  /** The connection ended: its last bytes and its end go to the session, in that order. */
  void remove(TunnelBridge bridge) {
    bySession.computeIfPresent(bridge.sessionId(), (id, bridges) -> {
      bridges.remove(bridge);
      return bridges.isEmpty() ? null : bridges;
    });
    release(bridge.sessionId());
    EntityRef<SessionEntity.Command> session = entity(bridge.sessionId());
    long bytes = bridge.takeBytes();
    if (bytes > 0) session.tell(new SessionEntity.BytesMoved(bytes));
    session.tell(new SessionEntity.ConnectionClosed(bridge.connectionId()));
  }

  long open() {
    return bySession.values().stream().mapToLong(Set::size).sum();
  }

  long buffered() {
    return bySession.values().stream().flatMap(Set::stream).mapToLong(TunnelBridge::buffered).sum();
  }

  private void tick() {
    bySession.forEach((sessionId, bridges) -> {
      bridges.stream().filter(b -> b.unclaimedFor(UNCLAIMED)).forEach(TunnelBridge::abandon);
      EntityRef<SessionEntity.Command> session = entity(sessionId);
      long bytes = bridges.stream().mapToLong(TunnelBridge::takeBytes).sum();
      if (bytes > 0) session.tell(new SessionEntity.BytesMoved(bytes));
      Set<TunnelBridge> held = Set.copyOf(bridges);
      Set<String> ids = held.stream().map(TunnelBridge::connectionId).collect(java.util.stream.Collectors.toSet());
      session.<SessionEntity.Reply>ask(replyTo -> new SessionEntity.ConnectionsHeld(ids, replyTo), askTimeout)
          .thenAccept(reply -> closeIfGone(reply, held));
    });
  }

  private static void closeIfGone(SessionEntity.Reply reply, Set<TunnelBridge> bridges) {
    if (reply instanceof SessionEntity.Accepted accepted) {
      Phase phase = accepted.session().state().phase();
      if (phase == Phase.IDLE) {
        bridges.forEach(b -> b.close(TunnelSocket.GOING_AWAY, "session_idle",
            "the session went idle; connect again to resume it"));
      } else if (phase == Phase.TERMINATED) {
        bridges.forEach(b -> b.close(TunnelSocket.POLICY_VIOLATION, "session_terminated",
            "the session is terminated; start a new one with offload start"));
      }
    } else {
      bridges.forEach(b -> b.close(TunnelSocket.POLICY_VIOLATION, "session_terminated",
          "the session is gone; start a new one with offload start"));
    }
  }

  private EntityRef<SessionEntity.Command> entity(String sessionId) {
    return sharding.entityRefFor(SessionEntity.ENTITY_KEY, sessionId);
  }
}
