package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.http.javadsl.server.Route;
import dev.offload.org.Principal;
import java.util.LinkedHashMap;
import java.util.Map;

/** GET /v1/me: whose token this is, so a client signed in with only a token knows its organisation and role. */
final class CallerRoutes {
  Route routes(Principal caller) {
    return path("me", () -> get(() -> {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("user", caller.user());
      body.put("org", caller.org());
      body.put("role", caller.role().apiName());
      return Json.ok(body);
    }));
  }
}
