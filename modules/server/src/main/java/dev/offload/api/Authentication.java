package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Organisations;
import dev.offload.org.Principal;
import java.util.Optional;
import java.util.function.Function;

/** {@code Authorization: Bearer <token>} on every /v1 request; 401 before anything else runs. */
final class Authentication {
  private static final String SCHEME = "bearer ";

  private final Organisations organisations;

  Authentication(Organisations organisations) {
    this.organisations = organisations;
  }

  Route authenticated(Function<Principal, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      Optional<String> token = header
          .filter(h -> h.regionMatches(true, 0, SCHEME, 0, SCHEME.length()))
          .map(h -> h.substring(SCHEME.length()).trim())
          .filter(t -> !t.isEmpty());
      if (token.isEmpty()) {
        return ErrorResponses.complete(new ClientError(ClientError.Code.UNAUTHENTICATED,
            "send your token as 'Authorization: Bearer <token>' (offload login stores it)"));
      }
      return onSuccess(organisations.authenticate(token.get()), principal -> principal
          .map(inner)
          .orElseGet(() -> ErrorResponses.complete(new ClientError(ClientError.Code.UNAUTHENTICATED,
              "the token is unknown or revoked; ask an owner of your organisation for a new one"))));
    });
  }
}
