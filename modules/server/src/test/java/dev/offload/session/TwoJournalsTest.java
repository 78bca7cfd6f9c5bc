package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sessions are written through two journals over one table, and each comes back after a restart. */
class TwoJournalsTest {

  private static final String RUNNERS = "offload.runners.classes.standard { provider = local, min-warm = 1, max = 2 }";

  @Test
  void sessionsAreSpreadOverBothJournalsAndRecoverFromThem() throws Exception {
    String url = TestServer.newDatabase();
    List<String> ids = new ArrayList<>();
    List<String> tokens = new ArrayList<>();
    try (TestServer server = TestServer.start(RUNNERS, url)) {
      ApiClient api = server.api();
      assertEquals(201, api.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"halves\"}").status());
      for (int i = 0; ids.stream().map(SessionEntity::journalFor).distinct().count() < 2; i++) {
        assertTrue(i < 64, "random ids fall on both journals");
        String token = api.post("/v1/orgs/halves/tokens", TestServer.OPERATOR_TOKEN,
            "{\"user\":\"u" + i + "\",\"role\":\"member\"}").json().get("token").asText();
        ApiClient.Response started = api.post("/v1/sessions", token, "{}");
        assertEquals(201, started.status(), started.body());
        ids.add(started.json().get("id").asText());
        tokens.add(token);
      }
      // A journal's actor exists once something has written or read through it.
      for (String journal : List.of("jdbc-journal", "jdbc-journal-2")) {
        server.server().system().classicSystem().actorSelection("/system/" + journal)
            .resolveOne(Duration.ofSeconds(5)).toCompletableFuture().get();
      }
    }
    try (TestServer again = TestServer.start(RUNNERS, url)) {
      for (int i = 0; i < ids.size(); i++) {
        ApiClient.Response shown = again.api().get("/v1/sessions/" + ids.get(i), tokens.get(i));
        assertEquals(200, shown.status(), shown.body());
        assertEquals(ids.get(i), shown.json().get("id").asText());
      }
    }
  }
}
