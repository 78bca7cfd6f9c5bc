package dev.offload.api;

import akka.http.javadsl.model.HttpMethod;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.ExceptionHandler;
import akka.http.javadsl.server.MalformedQueryParamRejection;
import akka.http.javadsl.server.MethodRejection;
import akka.http.javadsl.server.MissingQueryParamRejection;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import dev.offload.ClientError;
import dev.offload.ClientError.Code;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static akka.http.javadsl.server.Directives.*;

/**
 * Every failure of every route as the JSON error of api.md: the product's refusals, akka-http's
 * rejections (unknown path, wrong method, bad query), oversized bodies, and failing dependencies.
 */
final class ErrorResponses {
  private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);

  /** How long clients should wait before retrying when a dependency is down. */
  static final int RETRY_AFTER_SECONDS = 5;

  private ErrorResponses() {}

  static HttpResponse of(ClientError error) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("code", error.code().apiName);
    body.put("message", error.getMessage());
    if (error.field() != null) body.put("field", error.field());
    HttpResponse response = Json.response(StatusCodes.get(error.code().status), Map.of("error", body));
    if (error.code() == Code.UNAVAILABLE || error.code() == Code.RATE_LIMITED) {
      response = response.addHeader(RawHeader.create("Retry-After", String.valueOf(RETRY_AFTER_SECONDS)));
    }
    return response;
  }

  static Route complete(ClientError error) {
    return akka.http.javadsl.server.Directives.complete(of(error));
  }

  static final ExceptionHandler EXCEPTIONS =
      ExceptionHandler.newBuilder().matchAny(e -> complete(translate(e))).build();

  static ClientError translate(Throwable e) {
    Throwable cause = unwrap(e);
    if (cause instanceof ClientError c) return c;
    if (cause instanceof EntityStreamSizeException size) {
      return new ClientError(Code.PAYLOAD_TOO_LARGE,
          "the request body is larger than the limit of " + size.limit() + " bytes");
    }
    if (cause instanceof SQLException || cause instanceof TimeoutException
        || cause instanceof akka.pattern.AskTimeoutException) {
      log.warn("Dependency failed: {}", cause.toString());
      return new ClientError(Code.UNAVAILABLE,
          "the control plane cannot reach its database or a session right now; retry in a few seconds");
    }
    String correlationId = UUID.randomUUID().toString();
    log.error("Internal error {}", correlationId, cause);
    return new ClientError(Code.INTERNAL, "internal error (correlation id " + correlationId + ")");
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  static final RejectionHandler REJECTIONS =
      RejectionHandler.newBuilder()
          .handleAll(MethodRejection.class, rejections -> complete(new ClientError(Code.METHOD_NOT_ALLOWED,
              "method not allowed here; use " + rejections.stream()
                  .map(MethodRejection::supported).map(HttpMethod::name).distinct()
                  .collect(Collectors.joining(" or ")))))
          .handle(MissingQueryParamRejection.class, r -> complete(ClientError.invalid(r.parameterName(),
              "query parameter " + r.parameterName() + " is required")))
          .handle(MalformedQueryParamRejection.class, r -> complete(ClientError.invalid(r.parameterName(),
              "query parameter " + r.parameterName() + " is not valid: " + r.errorMsg())))
          .handleNotFound(extractRequest(request -> complete(new ClientError(Code.NOT_FOUND,
              "no such endpoint: " + request.method().name() + " " + request.getUri().path()))))
          .build()
          .withFallback(RejectionHandler.defaultHandler())
          .mapRejectionResponse(ErrorResponses::asJson);

  /** Whatever akka-http's default handler answered, in the API's error format. */
  private static HttpResponse asJson(HttpResponse response) {
    if (response.entity().getContentType().mediaType().isApplication()
        && response.entity().getContentType().mediaType().subType().equals("json")) {
      return response;
    }
    int status = response.status().intValue();
    Code code = status == 413 ? Code.PAYLOAD_TOO_LARGE
        : status == 415 ? Code.UNSUPPORTED_MEDIA_TYPE
        : status == 401 ? Code.UNAUTHENTICATED
        : status == 404 ? Code.NOT_FOUND
        : status == 405 ? Code.METHOD_NOT_ALLOWED
        : status >= 500 ? Code.INTERNAL
        : Code.INVALID_ARGUMENT;
    String message = response.entity() instanceof akka.http.javadsl.model.HttpEntity.Strict strict
        ? strict.getData().utf8String() : response.status().reason();
    return of(new ClientError(code, message));
  }
}
