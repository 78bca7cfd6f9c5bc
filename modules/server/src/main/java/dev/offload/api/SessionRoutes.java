package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.marshalling.sse.EventStreamMarshalling;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.sse.ServerSentEvent;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Principal;
import dev.offload.session.SessionDiagnosis;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.tunnel.TunnelRoutes;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** /v1/sessions: translates between JSON and {@link Sessions}; the rules live there. */
final class SessionRoutes {
  private final Sessions sessions;
  private final SessionUpdates updates;
  private final Json.BodyLimit bodyLimit;
  private final TunnelRoutes tunnels;
  private final SessionDiagnosis diagnosis;

  SessionRoutes(Sessions sessions, SessionUpdates updates, SessionDiagnosis diagnosis, Json.BodyLimit bodyLimit, TunnelRoutes tunnels) {
    this.sessions = sessions;
    this.updates = updates;
    this.diagnosis = diagnosis;
    this.bodyLimit = bodyLimit;
    this.tunnels = tunnels;
  }

  Route routes(Principal caller) {
    return pathPrefix("sessions", () -> concat(
        pathEnd(() -> concat(post(() -> start(caller)), get(() -> list(caller)))),
        pathPrefix(PathMatchers.segment(), id -> one(caller, id))));
  }

  private Route start(Principal caller) {
    return Json.body(Sessions.StartRequest.class, true, bodyLimit, request ->
        optionalHeaderValueByName("Idempotency-Key", key ->
            onSuccess(sessions.start(caller, request, key.orElse(null)), started ->
                complete(Json.response(started.created() ? StatusCodes.CREATED : StatusCodes.OK,
                    SessionJson.of(started.session()))))));
  }

  private Route list(Principal caller) {
    return parameterOptional("state", state ->
        parameterOptional("user", user ->
            parameterOptional("limit", limit ->
                parameterOptional("cursor", cursor -> {
                  var page = sessions.list(caller, state.orElse(null), user.orElse(null),
                      limit(limit), cursor.orElse(null));
                  return onSuccess(page, p -> {
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("sessions", p.sessions().stream().map(SessionJson::of).toList());
                    body.put("nextCursor", p.nextCursor());
                    return Json.ok(body);
                  });
                }))));
  }

  private Route one(Principal caller, String id) {
    return concat(
        pathEnd(() -> concat(
            get(() -> onSuccess(sessions.get(caller, id), v -> Json.ok(SessionJson.of(v)))),
            delete(() -> onSuccess(sessions.stop(caller, id), v -> Json.ok(SessionJson.of(v)))))),
        path("resume", () -> post(() ->
            onSuccess(sessions.resume(caller, id), v -> Json.ok(SessionJson.of(v))))),
        path("tunnel", () -> tunnels.route(caller, id)),
        pathPrefix("ports", () -> path(PathMatchers.integerSegment(), port -> tunnels.portRoute(caller, id, port))),
        pathPrefix("workspace", () -> tunnels.workspaceRoute(caller, id)),
        path("diagnose", () -> get(() ->
            onSuccess(diagnosis.diagnose(caller, id), checks -> Json.ok(Map.of("checks", checks))))),
        path("events", () -> get(() ->
            onSuccess(sessions.get(caller, id), now -> completeOK(
                updates.follow(now).map(SessionRoutes::event)
                    .keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat),
                EventStreamMarshalling.toEventStream())))));
  }

  static int limit(Optional<String> limit) {
    if (limit.isEmpty()) return 50;
    try {
      return Integer.parseInt(limit.get());
    } catch (NumberFormatException e) {
      throw ClientError.invalid("limit", "limit must be an integer between 1 and 500");
    }
  }

  private static ServerSentEvent event(SessionUpdates.Update update) {
    if (update instanceof SessionUpdates.StateChanged changed) {
      return ServerSentEvent.create(Json.entity(SessionJson.of(changed.session())).getData().utf8String(), "state");
    }
    if (update instanceof SessionUpdates.RunnerFailed failed) {
      return ServerSentEvent.create(Json.entity(SessionJson.of(failed.session())).getData().utf8String(), "runner-error");
    }
    if (update instanceof SessionUpdates.PortsChanged changed) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("session", changed.sessionId());
      body.put("ports", changed.ports());
      return ServerSentEvent.create(Json.entity(body).getData().utf8String(), "ports");
    }
    SessionUpdates.Warning w = (SessionUpdates.Warning) update;
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("warning", w.kind());
    body.put("at", w.at().toString());
    body.put("session", w.sessionId());
    return ServerSentEvent.create(Json.entity(body).getData().utf8String(), "warning");
  }
}
