package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.testing.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A grant exhausted ends live sessions with usage-limit, and new sessions are refused with 402. */
class GrantsAndLimitsTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;

  @Test
  void exhaustedUsageEndsSessionsAndRefusesNewOnes() throws Exception {
    try (TestServer server = TestServer.start("offload.billing.enforce-interval = 500ms")) {
      ApiClient api = server.api();
      assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"metered\"}").status());
      String owner = api.post("/v1/orgs/metered/tokens", OP, "{\"user\":\"o\",\"role\":\"owner\"}").json().get("token").asText();
      String member = api.post("/v1/orgs/metered/tokens", OP, "{\"user\":\"m\",\"role\":\"member\"}").json().get("token").asText();

      ApiClient.Response badKind = api.post("/v1/orgs/metered/grants", OP, "{\"seconds\": 3, \"kind\": \"forever\"}");
      assertEquals(400, badKind.status());
      assertEquals("kind", badKind.errorField());
      assertEquals("seconds", api.post("/v1/orgs/metered/grants", OP, "{\"seconds\": 0, \"kind\": \"trial\"}").errorField());
      assertEquals("expiresAt", api.post("/v1/orgs/metered/grants", OP,
          "{\"seconds\": 3, \"kind\": \"trial\", \"expiresAt\": \"2020-01-01T00:00:00Z\"}").errorField());
      assertEquals(403, api.post("/v1/orgs/metered/grants", owner, "{\"seconds\": 3, \"kind\": \"trial\"}").status());
      assertEquals(404, api.post("/v1/orgs/nobody/grants", OP, "{\"seconds\": 3, \"kind\": \"trial\"}").status());

      ApiClient.Response grant = api.post("/v1/orgs/metered/grants", OP, "{\"seconds\": 3, \"kind\": \"committed\"}");
      assertEquals(201, grant.status(), grant.body());
      assertEquals(3, grant.json().get("seconds").asLong());
      assertFalse(grant.json().get("expiresAt").isNull(), "a committed grant lasts until the end of its month");

      String id = api.post("/v1/sessions", member, "{}").json().get("id").asText();
      JsonNode ended = Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + id, member).json(),
          s -> s.get("state").asText().equals("terminated"), "the session to end when the grant is used up");
      assertEquals("usage-limit", ended.get("terminationReason").asText());
      assertTrue(ended.get("billableSeconds").asLong() >= 3, ended.toString());

      ApiClient.Response refused = api.post("/v1/sessions", member, "{}");
      assertEquals(402, refused.status(), refused.body());
      assertEquals("usage_exhausted", refused.errorCode());
      assertTrue(refused.errorMessage().contains("on-demand"), refused.errorMessage());

      assertEquals(200, api.put("/v1/orgs/metered/settings", owner, "{\"onDemandEnabled\": true}").status());
      ApiClient.Response onDemand = api.post("/v1/sessions", member, "{}");
      assertEquals(201, onDemand.status(), "on-demand usage carries on past the grant: " + onDemand.body());
      api.delete("/v1/sessions/" + onDemand.json().get("id").asText(), member);
    }
  }
}
