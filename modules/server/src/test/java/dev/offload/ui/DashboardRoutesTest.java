package dev.offload.ui;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What the dashboard stands on, over plain HTTP: its files and their headers, and the API calls only it needs. */
class DashboardRoutesTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;
  private static TestServer server;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 2, max = 2 }");
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void theFilesComeWithAStrictContentSecurityPolicy() {
    Response moved = api.get("/ui", null);
    assertEquals(301, moved.status());
    assertEquals("/ui/", moved.raw().headers().firstValue("Location").orElse(null));

    Response index = api.get("/ui/", null);
    assertEquals(200, index.status());
    assertTrue(index.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    String csp = index.raw().headers().firstValue("Content-Security-Policy").orElse("");
    assertEquals(UiRoutes.CONTENT_SECURITY_POLICY, csp);
    assertTrue(csp.startsWith("default-src 'self'") && !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), csp);
    assertEquals("nosniff", index.raw().headers().firstValue("X-Content-Type-Options").orElse(null));
    assertEquals("no-referrer", index.raw().headers().firstValue("Referrer-Policy").orElse(null));

    assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)").matcher(index.body()).find(), "no inline script");
    assertFalse(Pattern.compile("<style|\\sstyle=|\\son[a-z]+=").matcher(index.body()).find(), "no inline style or handler");

    for (String module : List.of("app", "api", "dom", "format", "charts", "live", "overview", "activity", "session", "settings", "audit")) {
      Response js = api.get("/ui/js/" + module + ".js", null);
      assertEquals(200, js.status(), module);
      assertTrue(js.raw().headers().firstValue("Content-Type").orElse("").contains("javascript"), module);
      assertEquals(csp, js.raw().headers().firstValue("Content-Security-Policy").orElse(null));
      assertFalse(js.body().contains("innerHTML"), module + " builds elements, never parses markup");
    }
    assertTrue(api.get("/ui/app.css", null).raw().headers().firstValue("Content-Type").orElse("").startsWith("text/css"));

    Response missing = api.get("/ui/nothing-here.js", null);
    assertEquals(404, missing.status());
    assertEquals("not_found", missing.errorCode());
    assertEquals(404, api.get("/ui/../reference.conf", null).status());
  }

  @Test
  void meTellsATokenItsOrganisationAndRole() {
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"me-org\"}").status());
    String owner = token("me-org", "olivia", "owner");
    String member = token("me-org", "alice", "member");

    assertEquals("{\"user\":\"olivia\",\"org\":\"me-org\",\"role\":\"owner\"}", api.get("/v1/me", owner).body());
    assertEquals("{\"user\":\"alice\",\"org\":\"me-org\",\"role\":\"member\"}", api.get("/v1/me", member).body());
    assertEquals("{\"user\":null,\"org\":null,\"role\":\"operator\"}", api.get("/v1/me", OP).body());
    assertEquals(401, api.get("/v1/me", "ofl_unknown").status());
    assertEquals("method_not_allowed", api.delete("/v1/me", owner).errorCode());
  }

  @Test
  void ownersFilterTheActivityByUser() {
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"filter-org\"}").status());
    String owner = token("filter-org", "olivia", "owner");
    String alice = token("filter-org", "alice", "member");
    String bob = token("filter-org", "bob", "member");
    String a = api.post("/v1/sessions", alice, "{}").json().get("id").asText();
    String b = api.post("/v1/sessions", bob, "{}").json().get("id").asText();
    Await.until(Duration.ofSeconds(15), () -> api.get("/v1/orgs/filter-org/activity", owner).json().get("sessions").size(),
        n -> n == 2, "both sessions in the index");

    JsonNode onlyAlice = api.get("/v1/orgs/filter-org/activity?user=alice", owner).json();
    assertEquals(1, onlyAlice.get("sessions").size());
    assertEquals(a, onlyAlice.at("/sessions/0/id").asText());
    assertEquals(0, api.get("/v1/orgs/filter-org/activity?user=nobody", owner).json().get("sessions").size());
    assertEquals(a, api.get("/v1/orgs/filter-org/activity?user=alice", alice).json().at("/sessions/0/id").asText(),
        "a member may name themselves");
    assertEquals(403, api.get("/v1/orgs/filter-org/activity?user=bob", alice).status(), "but nobody else");
    api.delete("/v1/sessions/" + a, alice);
    api.delete("/v1/sessions/" + b, bob);
  }

  private static String token(String org, String user, String role) {
    Response r = api.post("/v1/orgs/" + org + "/tokens", OP, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    return r.json().get("token").asText();
  }
}
