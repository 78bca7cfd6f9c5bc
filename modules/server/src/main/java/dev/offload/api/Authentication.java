package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Organisations;
import dev.offload.org.Principal;
import akka.http.javadsl.model.headers.RawHeader;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/** {@code Authorization: Bearer <token>} on every /v1 request; 401 before anything else runs. */
final class Authentication {
  private static final String SCHEME = "bearer ";

  private final Organisations organisations;
  private final TokenBuckets limits;

  Authentication(Organisations organisations, TokenBuckets limits) {
    this.organisations = organisations;
    this.limits = limits;
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
          .map(p -> limited(p, inner))
          .orElseGet(() -> ErrorResponses.complete(new ClientError(ClientError.Code.UNAUTHENTICATED,
              "the token is unknown or revoked; ask an owner of your organisation for a new one"))));
    });
  }

  private Route limited(Principal caller, Function<Principal, Route> inner) {
    Duration wait = limits.take(caller.isOperator() ? "operator" : caller.tokenId());
    if (wait.isZero()) return inner.apply(caller);
    long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
    return complete(ErrorResponses.of(new ClientError(ClientError.Code.RATE_LIMITED,
            "too many requests with this token; retry in " + seconds + " s (Retry-After)"))
        .removeHeader("Retry-After")
        .addHeader(RawHeader.create("Retry-After", String.valueOf(seconds))));
  }
}
