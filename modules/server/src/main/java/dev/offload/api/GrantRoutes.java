package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.billing.BillingEntity;
import dev.offload.org.Organisations;
import dev.offload.org.Principal;
import java.time.Duration;
import java.time.Instant;

/** POST /v1/orgs/{org}/grants (operator): committed usage for an organisation. */
final class GrantRoutes {
  record GrantRequest(Long seconds, Instant expiresAt, String kind) {}

  private final ActorSystem<?> system;
  private final Organisations organisations;
  private final Json.BodyLimit bodyLimit;
  private final Duration askTimeout;

  GrantRoutes(ActorSystem<?> system, Organisations organisations, Json.BodyLimit bodyLimit, Duration askTimeout) {
    this.system = system;
    this.organisations = organisations;
    this.bodyLimit = bodyLimit;
    this.askTimeout = askTimeout;
  }

  Route routes(Principal caller) {
    return path(PathMatchers.segment("orgs").slash(PathMatchers.segment()).slash("grants"), org -> post(() -> {
      if (!caller.isOperator()) {
        return ErrorResponses.complete(caller.belongsTo(org)
            ? new ClientError(ClientError.Code.FORBIDDEN, "only the operator grants usage")
            : ClientError.notFound("organisation " + org));
      }
      return Json.body(GrantRequest.class, false, bodyLimit, body -> {
        if (body.seconds() == null) throw ClientError.invalid("seconds", "seconds is required");
        if (body.kind() == null) throw ClientError.invalid("kind", "kind is required: committed or trial");
        var added = organisations.get(org).thenCompose(o -> ClusterSharding.get(system)
            .entityRefFor(BillingEntity.ENTITY_KEY, org)
            .<BillingEntity.GrantReply>ask(replyTo -> new BillingEntity.AddGrant(body.kind(), body.seconds(),
                body.expiresAt(), replyTo), askTimeout));
        return onSuccess(added, reply -> {
          if (reply instanceof BillingEntity.GrantRefused refused) {
            return ErrorResponses.complete(new ClientError(refused.code(), refused.message(), refused.field()));
          }
          return complete(Json.response(StatusCodes.CREATED, ((BillingEntity.GrantAdded) reply).grant()));
        });
      });
    }));
  }
}
