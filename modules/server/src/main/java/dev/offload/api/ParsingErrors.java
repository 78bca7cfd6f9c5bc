package dev.offload.api;

import akka.event.LoggingAdapter;
import akka.http.ParsingErrorHandler;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.scaladsl.model.ErrorInfo;
import akka.http.scaladsl.model.StatusCode;
import akka.http.scaladsl.settings.ServerSettings;
import dev.offload.ClientError.Code;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Requests akka-http cannot even parse (headers or URI over the limits, a broken request line)
 * never reach the routes; this answers them in the API's JSON error format too, instead of
 * akka-http's plain text. Named by {@code akka.http.server.parsing.error-handler}.
 */
public final class ParsingErrors extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    int code = status.intValue();
    boolean tooLarge = code == 413 || code == 414 || code == 431;
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", (tooLarge ? Code.PAYLOAD_TOO_LARGE : Code.INVALID_ARGUMENT).apiName);
    error.put("message", info.summary() + "; " + advice(code));
    return Json.response(tooLarge ? StatusCodes.get(code) : StatusCodes.BAD_REQUEST, Map.of("error", error));
  }

  private static String advice(int status) {
    return switch (status) {
      case 413 -> "send a smaller request body";
      case 414 -> "send a shorter request URI";
      case 431 -> "send fewer or smaller request headers";
      default -> "send a well-formed HTTP/1.1 request";
    };
  }
}
