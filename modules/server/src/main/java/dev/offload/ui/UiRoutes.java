package dev.offload.ui;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.Uri;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.Route;
import java.util.List;

/**
 * The web dashboard at /ui/: static HTML, CSS and ES modules from the classpath, which call the
 * /v1 API with the token the sign-in form keeps in sessionStorage. Nothing here needs a token:
 * the files hold no data, and every figure comes from the API.
 */
public final class UiRoutes {
  static final String RESOURCES = "dev/offload/ui";

  /**
   * Only this origin's own files; no inline script or style, no plug-ins, no framing, so
   * injected markup cannot run or exfiltrate the token.
   */
  public static final String CONTENT_SECURITY_POLICY = String.join("; ",
      "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
      "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
      "form-action 'self'", "frame-ancestors 'none'");

  private static final List<HttpHeader> HEADERS = List.of(
      RawHeader.create("Content-Security-Policy", CONTENT_SECURITY_POLICY),
      RawHeader.create("X-Content-Type-Options", "nosniff"),
      RawHeader.create("Referrer-Policy", "no-referrer"),
      // Revalidated on every load (cheap: Last-Modified), so an upgraded server serves its own files.
      RawHeader.create("Cache-Control", "no-cache"));

  private UiRoutes() {}

  public static Route routes() {
    return pathPrefix("ui", () -> concat(
        pathEnd(() -> redirect(Uri.create("/ui/"), StatusCodes.MOVED_PERMANENTLY)),
        get(() -> respondWithHeaders(HEADERS, () -> concat(
            pathSingleSlash(() -> getFromResource(RESOURCES + "/index.html", ContentTypes.TEXT_HTML_UTF8)),
            getFromResourceDirectory(RESOURCES))))));
  }
}
