package dev.offload;

/**
 * A request the product refuses, with the API error code it maps to. Thrown or returned by the
 * capability packages (org, session, runner) so their rules stay free of HTTP; the api package
 * turns it into {@code {"error": {"code", "message", "field"}}} with the code's status.
 */
public final class ClientError extends RuntimeException {

  /** API error codes of api.md with their HTTP statuses. */
  public enum Code {
    INVALID_ARGUMENT("invalid_argument", 400),
    UNAUTHENTICATED("unauthenticated", 401),
    USAGE_EXHAUSTED("usage_exhausted", 402),
    FORBIDDEN("forbidden", 403),
    OFFLOAD_DISABLED("offload_disabled", 403),
    NOT_FOUND("not_found", 404),
    METHOD_NOT_ALLOWED("method_not_allowed", 405),
    SESSION_TERMINATED("session_terminated", 409),
    SESSION_NOT_READY("session_not_ready", 409),
    CONFLICT("conflict", 409),
    PAYLOAD_TOO_LARGE("payload_too_large", 413),
    UNSUPPORTED_MEDIA_TYPE("unsupported_media_type", 415),
    RATE_LIMITED("rate_limited", 429),
    INTERNAL("internal", 500),
    UNAVAILABLE("unavailable", 503);

    public final String apiName;
    public final int status;

    Code(String apiName, int status) {
      this.apiName = apiName;
      this.status = status;
    }
  }

  private final Code code;
  private final String field;

  public ClientError(Code code, String message, String field) {
    super(message, null, false, false);
    this.code = code;
    this.field = field;
  }

  public ClientError(Code code, String message) {
    this(code, message, null);
  }

  public static ClientError invalid(String field, String message) {
    return new ClientError(Code.INVALID_ARGUMENT, message, field);
  }

  public static ClientError notFound(String what) {
    return new ClientError(Code.NOT_FOUND, what + " not found");
  }

  public Code code() {
    return code;
  }

  /** The request field at fault, or null. */
  public String field() {
    return field;
  }
}
