package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.billing.ActivityRow;
import dev.offload.org.Principal;
import dev.offload.session.Sessions;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GET /v1/orgs/{org}/activity: the organisation's sessions, newest first, with what each was
 * charged; an owner sees everyone's or one user's, a member their own (the session list's rules,
 * filter and paging).
 */
final class ActivityRoutes {
  private final Sessions sessions;
  private final Clock clock;

  ActivityRoutes(Sessions sessions, Clock clock) {
    this.sessions = sessions;
    this.clock = clock;
  }

  Route routes(Principal caller) {
    return path(PathMatchers.segment("orgs").slash(PathMatchers.segment()).slash("activity"), org -> get(() -> {
      if (caller.isOperator() || !caller.belongsTo(org)) {
        return ErrorResponses.complete(caller.isOperator()
            ? new ClientError(ClientError.Code.FORBIDDEN, "the activity view is for the organisation's owners and members")
            : ClientError.notFound("organisation " + org));
      }
      return parameterOptional("user", user -> parameterOptional("limit", limit -> parameterOptional("cursor", cursor ->
          onSuccess(sessions.list(caller, null, user.orElse(null), SessionRoutes.limit(limit), cursor.orElse(null)), page -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("sessions", page.sessions().stream()
                .map(v -> ActivityRow.of(v.state(), clock.instant())).toList());
            body.put("nextCursor", page.nextCursor());
            return Json.ok(body);
          }))));
    }));
  }
}
