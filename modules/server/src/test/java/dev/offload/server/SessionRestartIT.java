package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A session in its grace period and one that is idle survive a full stop and start of the server
 * process on the same embedded database, and their deadlines fire on time afterwards although no
 * request reaches them.
 */
class SessionRestartIT {
  private static final String OPERATOR = "operator-token-for-restart";
  private static final Duration WINDOW = Duration.ofSeconds(40);

  @Test
  void deadlinesFireOnTimeAfterARestart() throws Exception {
    Path workDir = Files.createTempDirectory("offload-restart");
    int port = ServerProcess.freePort();
    String javaOpts = "-Doffload.session.preservation-window=" + WINDOW.toSeconds() + "s";
    Map<String, String> env = Map.of("OFFLOAD_OPERATOR_TOKEN", OPERATOR);

    String graceId;
    String idleId;
    String graceToken;
    String idleToken;
    Instant graceIdleAt;
    Instant idleExpiresAt;
    try (ServerProcess server = ServerProcess.start(workDir, port, javaOpts, env)) {
      ApiClient api = new ApiClient(server.url());
      assertEquals(201, api.post("/v1/orgs", OPERATOR, "{\"id\":\"restart\"}").status());
      graceToken = token(api, "grace");
      idleToken = token(api, "idle");
      idleId = api.post("/v1/sessions", idleToken, "{\"idleTimeoutSeconds\": 10}").json().get("id").asText();
      graceId = api.post("/v1/sessions", graceToken, "{\"idleTimeoutSeconds\": 35}").json().get("id").asText();

      JsonNode idle = Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + idleId, idleToken).json(),
          s -> s.path("state").asText().equals("idle"), "the first session to go idle");
      idleExpiresAt = Instant.parse(idle.get("expiresAt").asText());
      JsonNode grace = api.get("/v1/sessions/" + graceId, graceToken).json();
      assertEquals("grace-period", grace.get("state").asText(), grace.toString());
      graceIdleAt = Instant.parse(grace.get("idleAt").asText());
      server.stop();
    }

    try (ServerProcess server = ServerProcess.start(workDir, port, javaOpts, env)) {
      ApiClient api = new ApiClient(server.url());
      assertTrue(Instant.now().isBefore(graceIdleAt), "the restart must finish before the first deadline for this test to mean anything");
      // Nothing is asked of either session until both deadlines have passed.
      Await.until(Duration.ofSeconds(90), Instant::now, now -> now.isAfter(idleExpiresAt.plusSeconds(2)), "both deadlines to pass");

      JsonNode nowIdle = api.get("/v1/sessions/" + graceId, graceToken).json();
      assertEquals("idle", nowIdle.get("state").asText(), nowIdle.toString());
      Instant idledAt = Instant.parse(nowIdle.get("expiresAt").asText()).minus(WINDOW);
      assertWithinOneSecond(graceIdleAt, idledAt, "grace period → idle");

      JsonNode ended = Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions/" + idleId, idleToken).json(),
          s -> s.path("state").asText().equals("terminated"), "the idle session to be listed as terminated");
      assertEquals("idle-expired", ended.get("terminationReason").asText());
      assertWithinOneSecond(idleExpiresAt, Instant.parse(ended.get("terminatedAt").asText()), "idle → terminated");
    }
  }

  private static String token(ApiClient api, String user) {
    return api.post("/v1/orgs/restart/tokens", OPERATOR, "{\"user\":\"" + user + "\",\"role\":\"member\"}")
        .json().get("token").asText();
  }

  private static void assertWithinOneSecond(Instant expected, Instant actual, String what) {
    long skewMillis = Math.abs(Duration.between(expected, actual).toMillis());
    assertTrue(skewMillis <= 1000, what + " fired " + skewMillis + " ms away from its deadline " + expected);
  }
}
