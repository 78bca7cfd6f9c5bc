package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** A runner is never leased twice: 50 users start at once against a pool of 5. */
class ConcurrentStartsTest {

  @Test
  void fiftyConcurrentStartsAgainstFiveRunners() throws Exception {
    try (TestServer server = TestServer.start(String.join("\n",
        "offload.runners.classes.standard { provider = local, min-warm = 5, max = 5 }",
        "offload.session.provisioning-timeout = 5s"))) {
      ApiClient api = server.api();
      String op = TestServer.OPERATOR_TOKEN;
      assertEquals(201, api.post("/v1/orgs", op, "{\"id\":\"crowd\"}").status());
      List<String> tokens = IntStream.range(0, 50)
          .mapToObj(i -> api.post("/v1/orgs/crowd/tokens", op, "{\"user\":\"user" + i + "\",\"role\":\"member\"}")
              .json().get("token").asText())
          .toList();

      List<CompletableFuture<HttpResponse<String>>> starts = new ArrayList<>();
      for (String token : tokens) {
        HttpRequest request = api.request("/v1/sessions", token).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        starts.add(api.http().sendAsync(request, HttpResponse.BodyHandlers.ofString()));
      }
      Map<String, String> sessionToken = new HashMap<>();
      for (int i = 0; i < starts.size(); i++) {
        HttpResponse<String> created = starts.get(i).join();
        assertEquals(201, created.statusCode(), created.body());
        sessionToken.put(new ApiClient.Response(201, created.body(), created).json().get("id").asText(), tokens.get(i));
      }

      // While most of them wait in the pool's queue, a waiting session cannot be resumed yet.
      String waiting = sessionToken.keySet().stream()
          .filter(id -> api.get("/v1/sessions/" + id, sessionToken.get(id)).json().get("state").asText().equals("provisioning"))
          .findFirst().orElseThrow();
      ApiClient.Response notReady = api.post("/v1/sessions/" + waiting + "/resume", sessionToken.get(waiting), "");
      assertEquals(409, notReady.status(), notReady.body());
      assertEquals("session_not_ready", notReady.errorCode());

      Map<String, JsonNode> settled = new HashMap<>();
      Await.until(Duration.ofSeconds(30), () -> {
        sessionToken.forEach((id, token) -> {
          if (!settled.containsKey(id)) {
            JsonNode s = api.get("/v1/sessions/" + id, token).json();
            if (!s.get("state").asText().equals("provisioning")) settled.put(id, s);
          }
        });
        return settled.size();
      }, n -> n == 50, "every session to leave provisioning");

      List<JsonNode> running = settled.values().stream()
          .filter(s -> List.of("active", "grace-period").contains(s.get("state").asText())).toList();
      List<JsonNode> ended = settled.values().stream()
          .filter(s -> s.get("state").asText().equals("terminated")).toList();
      assertEquals(5, running.size(), "one session per runner");
      assertEquals(45, ended.size());
      ended.forEach(s -> assertEquals("provisioning-timeout", s.get("terminationReason").asText(), s.toString()));
      assertEquals(5, running.stream().map(s -> s.get("runner").get("id").asText()).distinct().count(),
          "never two sessions on one runner");
    }
  }
}
