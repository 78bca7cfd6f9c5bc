package dev.offload.tunnel;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.http.javadsl.model.AttributeKeys;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.ws.Message;
import akka.http.javadsl.model.ws.TextMessage;
import akka.http.javadsl.model.ws.WebSocketUpgrade;
import akka.http.javadsl.server.Route;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import dev.offload.ClientError;
import dev.offload.org.Principal;
import dev.offload.runner.EngineTarget;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.SshConnections;
import dev.offload.session.SessionEntity;
import dev.offload.session.Sessions;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/sessions/{id}/tunnel}: one WebSocket per client TCP connection, bridged to the
 * session runner's engine; {@code GET /v1/sessions/{id}/ports/{port}} the same to a port that one
 * of the session's containers publishes, on the runner's loopback interface. Everything a client can get wrong before the upgrade (token, session,
 * no upgrade) is a JSON error; what the session says after it (not ready, terminated) is a
 * control message and a close code, because the CLI only learns those once it is connected.
 *
 * <p>The CLI relies on the close codes: 1000 both sides sent eof (or one side gave up), 1001 the
 * session went idle (connect again to resume it), 1008 the session is terminated or a control
 * message was invalid, 1009 a message over 1 MiB, 1011 the engine could not be reached or failed,
 * 1013 the session is still provisioning (retry). Every close other than 1000 is preceded by
 * {@code {"type":"error","code":…,"message":…}}.
 */
public final class TunnelRoutes {
  private static final Logger log = LoggerFactory.getLogger(TunnelRoutes.class);
  /** Where the engine publishes containers' ports on a runner, as OpenSSH's direct-tcpip reaches it. */
  private static final String LOOPBACK = "127.0.0.1";

  private final ActorSystem<?> system;
  private final Sessions sessions;
  private final SshConnections ssh;
  private final Function<String, CompletionStage<Optional<RunnerInfo>>> runners;
  private final Executor blocking;
  private final Duration askTimeout;
  private final int connectTimeoutMillis;
  private final ClusterSharding sharding;
  private final TunnelRegistry registry;
  private final WorkspaceRoutes workspaces;

  /** {@code runners} finds a runner by id, asking the runner pool when it runs on another node. */
  public TunnelRoutes(
      ActorSystem<?> system, Sessions sessions, SshConnections ssh,
      Function<String, CompletionStage<Optional<RunnerInfo>>> runners, Executor blocking) {
    this.system = system;
    this.sessions = sessions;
    this.ssh = ssh;
    this.runners = runners;
    this.blocking = blocking;
    this.askTimeout = system.settings().config().getDuration("offload.tunnel.open-timeout");
    this.connectTimeoutMillis = Math.toIntExact(
        system.settings().config().getDuration("offload.runners.ssh.connect-timeout").toMillis());
    this.sharding = ClusterSharding.get(system);
    this.registry = new TunnelRegistry(system, system.settings().config().getDuration("offload.ask-timeout"),
        system.settings().config().getInt("offload.tunnel.max-per-session"));
    this.workspaces = new WorkspaceRoutes(system, sessions, ssh, runners, blocking, askTimeout, connectTimeoutMillis);
  }

  public Route route(Principal caller, String sessionId) {
    return get(() -> extractRequest(request ->
        onSuccess(sessions.visible(caller, sessionId), row -> {
          Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
          if (upgrade.isEmpty()) {
            return failWith(ClientError.invalid("Upgrade",
                "the tunnel needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket); "
                    + "offload tunnel opens it for you"));
          }
          return admitted(row.id().toString(), upgrade.get(), runner -> EngineTarget.parse(runner.engineTarget()));
        })));
  }

  /** Opens the bridge within the session's cap on connections (tunnels and ports alike), else 429. */
  private Route admitted(String sessionId, WebSocketUpgrade upgrade, Function<RunnerInfo, EngineTarget> target) {
    if (!registry.admit(sessionId)) {
      return failWith(new ClientError(ClientError.Code.RATE_LIMITED, "session " + sessionId + " already has "
          + registry.maxPerSession() + " tunnel connections open, the most allowed; close some and retry"));
    }
    long started = System.nanoTime();
    return onSuccess(open(sessionId, started, target), opened -> complete(opened.accept(upgrade)));
  }

  /** {@code /v1/sessions/{id}/workspace}: files for bind mounts, see {@link WorkspaceRoutes}. */
  public Route workspaceRoute(Principal caller, String sessionId) {
    return workspaces.route(caller, sessionId);
  }

  /**
   * Only a TCP port a running container of the session publishes now (else 404, before any
   * upgrade), so the route never reaches other services on the runner.
   */
  public Route portRoute(Principal caller, String sessionId, int port) {
    return get(() -> extractRequest(request ->
        onSuccess(sessions.visible(caller, sessionId).thenCompose(row -> requirePublished(row.id().toString(), port)),
            id -> {
              Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
              if (upgrade.isEmpty()) {
                return failWith(ClientError.invalid("Upgrade",
                    "a published port is reached through a WebSocket upgrade (Connection: Upgrade, "
                        + "Upgrade: websocket); offload start opens it for you"));
              }
              return admitted(id, upgrade.get(), runner -> new EngineTarget.Tcp(LOOPBACK, port));
            })));
  }

  /** The session's id once its entity says a running container publishes the port. */
  private CompletionStage<String> requirePublished(String sessionId, int port) {
    return entity(sessionId).<SessionEntity.Reply>ask(SessionEntity.Get::new, askTimeout).thenApply(reply -> {
      if (reply instanceof SessionEntity.Rejected rejected) {
        throw new ClientError(rejected.code(), rejected.message());
      }
      if (!((SessionEntity.Accepted) reply).session().state().publishesTcp(port)) {
        throw new ClientError(ClientError.Code.NOT_FOUND, "session " + sessionId + " publishes no TCP port " + port
            + " now: a running container must publish it (docker run -p " + port + ":…)");
      }
      return sessionId;
    });
  }

  // ---- opening ----

  /** What the upgrade turns into: a bridge, or a refusal the client reads after connecting. */
  private interface Opened {
    HttpResponse accept(WebSocketUpgrade upgrade);
  }

  private CompletionStage<Opened> open(String sessionId, long started, Function<RunnerInfo, EngineTarget> target) {
    String connectionId = UUID.randomUUID().toString();
    EntityRef<SessionEntity.Command> session = entity(sessionId);
    CompletionStage<Opened> opened = session
        .<SessionEntity.Reply>ask(replyTo -> new SessionEntity.ConnectionOpened(connectionId, replyTo), askTimeout)
        .thenCompose(reply -> {
          if (reply instanceof SessionEntity.Rejected rejected) {
            return CompletableFuture.completedFuture(refused(rejected));
          }
          String runnerId = ((SessionEntity.Accepted) reply).session().state().runnerId();
          return runners.apply(runnerId).thenApplyAsync(
              runner -> bridge(sessionId, connectionId, runnerId, runner, started, target), blocking);
        });
    // The session counted the connection as soon as it was asked: uncount it if nothing came of it.
    return opened.whenComplete((result, failure) -> {
      if (failure != null || result instanceof Refusal) {
        session.tell(new SessionEntity.ConnectionClosed(connectionId));
        registry.release(sessionId);
      }
    });
  }

  private Opened refused(SessionEntity.Rejected rejected) {
    return switch (rejected.code()) {
      case NOT_FOUND -> throw new ClientError(rejected.code(), rejected.message());
      case SESSION_NOT_READY -> new Refusal(system, TunnelSocket.TRY_AGAIN_LATER, rejected.code().apiName, rejected.message());
      default -> new Refusal(system, TunnelSocket.POLICY_VIOLATION, rejected.code().apiName, rejected.message());
    };
  }

  /** Blocks: opens the SSH channel to the engine (or a port) on the runner's shared connection. */
  private Opened bridge(String sessionId, String connectionId, String runnerId, Optional<RunnerInfo> runner,
      long started, Function<RunnerInfo, EngineTarget> target) {
    if (runner.isEmpty()) {
      return new Refusal(system, TunnelSocket.INTERNAL_ERROR, ClientError.Code.UNAVAILABLE.apiName,
          "runner " + runnerId + " is not known to the runner pool any more");
    }
    TunnelBridge bridge = new TunnelBridge(sessionId, connectionId, blocking, registry::remove);
    try {
      bridge.attach(EngineChannel.open(ssh.session(runner.get()),
          target.apply(runner.get()), bridge.engineSink(), connectTimeoutMillis));
    } catch (SshConnections.VerificationFailed e) {
      // A refused login or a changed host key: retrying will not help, the operator must act.
      log.warn("Session {}: runner {} cannot be verified: {}", sessionId, runnerId, e.getMessage());
      return new Refusal(system, TunnelSocket.INTERNAL_ERROR, ClientError.Code.UNAVAILABLE.apiName,
          "the session's runner cannot be reached over SSH: " + e.getMessage());
    } catch (Exception e) {
      log.warn("Session {}: cannot open a channel on runner {}: {}", sessionId, runnerId, e.toString());
      return new Refusal(system, TunnelSocket.INTERNAL_ERROR, ClientError.Code.UNAVAILABLE.apiName,
          "the engine of the session's runner (or the container behind the port) does not answer; "
              + "try again in a few seconds");
    }
    registry.add(bridge);
    TunnelMetrics.OPEN_LATENCY.observe((System.nanoTime() - started) / 1e9);
    return upgrade -> TunnelSocket.accept(system, upgrade, bridge.flow(), bridge.closing());
  }

  /** Sends one error control message, then closes with the code that tells the CLI what to do. */
  private record Refusal(ActorSystem<?> system, int closeCode, String code, String message)
      implements Opened {
    @Override
    public HttpResponse accept(WebSocketUpgrade upgrade) {
      TunnelSocket.Closing closing = new TunnelSocket.Closing();
      closing.with(closeCode, "");
      Flow<Message, Message, ?> answer = Flow.fromSinkAndSource(
          Sink.ignore(), Source.single(TextMessage.create(ControlMessage.error(code, message))));
      return TunnelSocket.accept(system, upgrade, answer, closing);
    }
  }

  private EntityRef<SessionEntity.Command> entity(String sessionId) {
    return sharding.entityRefFor(SessionEntity.ENTITY_KEY, sessionId);
  }
}
