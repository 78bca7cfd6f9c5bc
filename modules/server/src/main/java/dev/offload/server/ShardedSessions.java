package dev.offload.server;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import dev.offload.runner.PublishedPort;
import dev.offload.runner.SessionDirectory;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionIndex;
import dev.offload.session.SessionState;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the runner pool tells sessions, delivered to the session shards; liveness from the index. */
final class ShardedSessions implements SessionDirectory {

  private static final Logger log = LoggerFactory.getLogger(ShardedSessions.class);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);

  private final ClusterSharding sharding;
  private final SessionIndex index;
  private final Executor blocking;

  ShardedSessions(ActorSystem<?> system, SessionIndex index, Executor blocking) {
    this.sharding = ClusterSharding.get(system);
    this.index = index;
    this.blocking = blocking;
  }

  /** A session the index has not seen yet counts as live: the projection may lag behind it. */
  @Override
  public CompletionStage<Boolean> isLive(String sessionId) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return index.find(UUID.fromString(sessionId)).map(row -> !row.isTerminated()).orElse(true);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read session " + sessionId + " from the index", e);
      }
    }, blocking);
  }

  @Override
  public void containerStarted(String sessionId, String containerId, String image) {
    session(sessionId).tell(new SessionEntity.ContainerStartedOnRunner(containerId, image));
  }

  @Override
  public void containerStopped(String sessionId, String containerId) {
    session(sessionId).tell(new SessionEntity.ContainerStoppedOnRunner(containerId));
  }

  @Override
  public void portsPublished(String sessionId, String containerId, String name, List<PublishedPort> ports) {
    session(sessionId).tell(new SessionEntity.PortsPublishedOnRunner(containerId, name, ports));
  }

  @Override
  public void runnerLost(String sessionId, String runnerId, String reason) {
    session(sessionId)
        .<SessionEntity.Reply>ask(
            replyTo -> new SessionEntity.RunnerLost(runnerId, reason, replyTo), ASK_TIMEOUT)
        .whenComplete((reply, failure) -> {
          if (failure != null) {
            log.warn("Session {} was not told that runner {} is lost ({}): {}", sessionId, runnerId, reason,
                failure.toString());
          }
        });
  }

  private EntityRef<SessionEntity.Command> session(String sessionId) {
    return sharding.entityRefFor(SessionEntity.ENTITY_KEY, sessionId);
  }
}
