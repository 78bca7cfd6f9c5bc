package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import dev.offload.org.Organisations;
import dev.offload.org.Principal;
import dev.offload.org.Role;
import dev.offload.org.SettingsPatch;
import dev.offload.session.SessionState;
import dev.offload.session.Sessions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** /v1/orgs: organisations, their tokens and settings. */
final class OrgRoutes {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OrgRoutes.class);

  record CreateOrg(String id, String name) {}

  record IssueToken(String user, String role) {}

  private final Organisations organisations;
  private final Sessions sessions;
  private final Json.BodyLimit bodyLimit;

  OrgRoutes(Organisations organisations, Sessions sessions, Json.BodyLimit bodyLimit) {
    this.organisations = organisations;
    this.sessions = sessions;
    this.bodyLimit = bodyLimit;
  }

  Route routes(Principal caller) {
    return pathPrefix("orgs", () -> concat(
        pathEnd(() -> post(() -> operatorOnly(caller, () -> create()))),
        pathPrefix(PathMatchers.segment(), org -> visible(caller, org, () -> concat(
            pathEnd(() -> get(() -> onSuccess(organisations.get(org), Json::ok))),
            pathPrefix("tokens", () -> owner(caller, org, () -> tokens(org))),
            path("settings", () -> settings(caller, org)))))));
  }

  private Route create() {
    return Json.body(CreateOrg.class, false, bodyLimit, body ->
        onSuccess(organisations.create(body.id(), body.name()), org ->
            complete(Json.response(StatusCodes.CREATED, org))));
  }

  private Route tokens(String org) {
    return concat(
        pathEnd(() -> post(() -> Json.body(IssueToken.class, false, bodyLimit, body ->
            onSuccess(organisations.issueToken(org, body.user(), role(body.role())), token -> {
              Map<String, Object> json = new LinkedHashMap<>();
              json.put("token", token.token());
              json.put("user", token.user());
              json.put("role", token.role().apiName());
              json.put("id", token.id());
              return complete(Json.response(StatusCodes.CREATED, json));
            })))),
        path(PathMatchers.segment(), tokenId -> delete(() ->
            onSuccess(organisations.revokeToken(org, tokenId), done -> complete(StatusCodes.NO_CONTENT)))));
  }

  private Route settings(Principal caller, String org) {
    return concat(
        get(() -> onSuccess(organisations.settings(org), Json::ok)),
        put(() -> owner(caller, org, () -> Json.body(SettingsPatch.class, false, bodyLimit, patch ->
            onSuccess(organisations.updateSettings(org, patch), settings -> {
              if (!settings.offloadEnabled()) {
                sessions.terminateLive(org, SessionState.DISABLED, caller.isOperator() ? "operator" : caller.user())
                    .whenComplete((ended, failure) -> {
                      if (failure != null) log.warn("Live sessions of {} not all ended: {}", org, failure.toString());
                    });
              }
              return Json.ok(settings);
            })))));
  }

  /** Another organisation is 404 (its existence does not leak), for everyone but the operator. */
  private static Route visible(Principal caller, String org, Supplier<Route> inner) {
    if (caller.isOperator() || caller.belongsTo(org)) return inner.get();
    return ErrorResponses.complete(ClientError.notFound("organisation " + org));
  }

  private static Route owner(Principal caller, String org, Supplier<Route> inner) {
    if (caller.isOperator() || caller.isOwnerOf(org)) return inner.get();
    return ErrorResponses.complete(new ClientError(Code.FORBIDDEN,
        "only an owner of organisation " + org + " may do this"));
  }

  private static Route operatorOnly(Principal caller, Supplier<Route> inner) {
    if (caller.isOperator()) return inner.get();
    return ErrorResponses.complete(new ClientError(Code.FORBIDDEN,
        "only the operator token may create organisations"));
  }

  private static Role role(String role) {
    if ("owner".equals(role)) return Role.OWNER;
    if ("member".equals(role)) return Role.MEMBER;
    throw ClientError.invalid("role", "role must be owner or member");
  }
}
