package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.billing.Audit;
import dev.offload.org.Principal;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/** GET /v1/orgs/{org}/audit?month=YYYY-MM: the journal replayed against the ledger. */
final class AuditRoutes {
  private final Audit audit;
  private final Executor blocking;
  private final Clock clock;

  AuditRoutes(Audit audit, Executor blocking, Clock clock) {
    this.audit = audit;
    this.blocking = blocking;
    this.clock = clock;
  }

  Route routes(Principal caller) {
    return path(PathMatchers.segment("orgs").slash(PathMatchers.segment()).slash("audit"), org -> get(() ->
        parameterOptional("month", month -> {
          if (!caller.isOperator() && !caller.isOwnerOf(org)) {
            return ErrorResponses.complete(caller.belongsTo(org)
                ? new ClientError(ClientError.Code.FORBIDDEN, "only an owner of organisation " + org + " may audit it")
                : ClientError.notFound("organisation " + org));
          }
          YearMonth audited = month.map(AuditRoutes::month).orElse(YearMonth.now(clock.withZone(ZoneOffset.UTC)));
          return onSuccess(CompletableFuture.supplyAsync(() -> {
            try {
              return audit.run(org, audited);
            } catch (java.sql.SQLException e) {
              throw new CompletionException(e);
            }
          }, blocking), Json::ok);
        })));
  }

  private static YearMonth month(String text) {
    try {
      return YearMonth.parse(text);
    } catch (DateTimeParseException e) {
      throw ClientError.invalid("month", "month must be written YYYY-MM, e.g. 2026-11");
    }
  }
}
