package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Principal;
import dev.offload.webhook.Webhooks;
import java.util.List;
import java.util.Map;

/** /v1/orgs/{org}/webhooks (owners): register, list, delete. */
final class WebhookRoutes {
  record Registration(String url, List<String> events) {}

  private final Webhooks webhooks;
  private final Json.BodyLimit bodyLimit;

  WebhookRoutes(Webhooks webhooks, Json.BodyLimit bodyLimit) {
    this.webhooks = webhooks;
    this.bodyLimit = bodyLimit;
  }

  Route routes(Principal caller) {
    return pathPrefix(PathMatchers.segment("orgs").slash(PathMatchers.segment()).slash("webhooks"), org -> {
      if (!caller.isOwnerOf(org)) {
        return ErrorResponses.complete(caller.belongsTo(org)
            ? new ClientError(ClientError.Code.FORBIDDEN, "only an owner of organisation " + org + " manages its webhooks")
            : caller.isOperator()
                ? new ClientError(ClientError.Code.FORBIDDEN, "webhooks are managed by the organisation's owners")
                : ClientError.notFound("organisation " + org));
      }
      return concat(
          pathEnd(() -> concat(
              post(() -> Json.body(Registration.class, false, bodyLimit, body ->
                  onSuccess(webhooks.register(org, body.url(), body.events()), registered ->
                      complete(Json.response(StatusCodes.CREATED, registered))))),
              get(() -> onSuccess(webhooks.list(org), hooks -> Json.ok(Map.of("webhooks", hooks)))))),
          path(PathMatchers.segment(), id -> delete(() ->
              onSuccess(webhooks.delete(org, id), done -> complete(StatusCodes.NO_CONTENT)))));
    });
  }
}
