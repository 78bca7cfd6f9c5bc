package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.billing.UsageView;
import dev.offload.org.Principal;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;

/** GET /v1/orgs/{org}/usage?month=YYYY-MM: an owner sees everyone's figures, a member their own. */
final class UsageRoutes {
  private final UsageView usage;
  private final Clock clock;

  UsageRoutes(UsageView usage, Clock clock) {
    this.usage = usage;
    this.clock = clock;
  }

  Route routes(Principal caller) {
    return path(PathMatchers.segment("orgs").slash(PathMatchers.segment()).slash("usage"), org -> get(() -> {
      if (caller.isOperator() || !caller.belongsTo(org)) {
        return ErrorResponses.complete(caller.isOperator()
            ? new ClientError(ClientError.Code.FORBIDDEN, "the usage view is for the organisation's owners and members")
            : ClientError.notFound("organisation " + org));
      }
      return parameterOptional("month", month -> {
        YearMonth shown = month.map(UsageRoutes::month).orElse(YearMonth.now(clock.withZone(ZoneOffset.UTC)));
        return onSuccess(usage.of(caller, org, shown), view -> Json.ok(json(view)));
      });
    }));
  }

  private static Map<String, Object> json(UsageView.Month view) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("month", view.month());
    json.put("metered", view.metered());
    json.put("committed", view.committed());
    json.put("onDemand", view.onDemand());
    json.put("sessions", view.sessions());
    json.put("mySessions", view.mySessions());
    json.put("topImages", view.topImages());
    json.put("activeSessions", view.activeSessions().stream().map(SessionJson::of).toList());
    json.put("rates", view.rates());
    return json;
  }

  private static YearMonth month(String text) {
    try {
      return YearMonth.parse(text);
    } catch (DateTimeParseException e) {
      throw ClientError.invalid("month", "month must be written YYYY-MM, e.g. 2026-11");
    }
  }
}
