package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

/** Organisations, tokens and sessions for tunnel tests, through the API like a user would. */
final class Tunnels {
  private Tunnels() {}

  /** A member token of a new organisation. */
  static String member(ApiClient api) {
    String org = "org-" + UUID.randomUUID().toString().substring(0, 8);
    Response created = api.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"" + org + "\",\"name\":\"Acme\"}");
    assertEquals(201, created.status(), created.body());
    Response token = api.post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
        "{\"user\":\"alice\",\"role\":\"member\"}");
    assertEquals(201, token.status(), token.body());
    return token.json().get("token").asText();
  }

  /** A running session of the token's user: active, or in its grace period for want of use. */
  static String activeSession(ApiClient api, String token, int idleTimeoutSeconds) {
    Response started = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": " + idleTimeoutSeconds + "}");
    assertEquals(201, started.status(), started.body());
    String id = started.json().get("id").asText();
    awaitState(api, id, token, "active", "grace-period");
    return id;
  }

  static JsonNode awaitState(ApiClient api, String id, String token, String... states) {
    List<String> wanted = List.of(states);
    return Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + id, token).json(),
        s -> wanted.contains(s.path("state").asText()), "session " + id + " in " + wanted);
  }
}
