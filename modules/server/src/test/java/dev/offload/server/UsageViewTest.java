package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.session.SessionEntity;
import dev.offload.testing.Await;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The usage view: the organisation's figures for owners, a member's own, and the grant's state. */
class UsageViewTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;

  @Test
  void ownersSeeTheOrganisationMembersTheirOwn() throws Exception {
    try (TestServer server = TestServer.start("")) {
      ApiClient api = server.api();
      assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"usage\"}").status());
      String owner = api.post("/v1/orgs/usage/tokens", OP, "{\"user\":\"o\",\"role\":\"owner\"}").json().get("token").asText();
      String alice = api.post("/v1/orgs/usage/tokens", OP, "{\"user\":\"alice\",\"role\":\"member\"}").json().get("token").asText();
      String bob = api.post("/v1/orgs/usage/tokens", OP, "{\"user\":\"bob\",\"role\":\"member\"}").json().get("token").asText();

      String a = api.post("/v1/sessions", alice, "{}").json().get("id").asText();
      String b = api.post("/v1/sessions", bob, "{}").json().get("id").asText();
      Await.until(Duration.ofSeconds(15), () -> api.get("/v1/sessions/" + a, alice).json().get("state").asText(),
          s -> !s.equals("provisioning"), "alice's session to run");
      var session = ClusterSharding.get(server.server().system()).entityRefFor(SessionEntity.ENTITY_KEY, a);
      session.tell(new SessionEntity.ContainerStartedOnRunner("c1", "nginx:1.27"));
      session.tell(new SessionEntity.ContainerStartedOnRunner("c2", "nginx:1.27"));
      session.tell(new SessionEntity.ContainerStartedOnRunner("c3", "redis:7"));

      JsonNode all = Await.until(Duration.ofSeconds(15), () -> api.get("/v1/orgs/usage/usage", owner).json(),
          u -> u.path("topImages").size() == 2, "the index to show the images");
      assertEquals(YearMonth.now(ZoneOffset.UTC).toString(), all.get("month").asText());
      assertFalse(all.get("metered").asBoolean(), "no grant: not metered");
      assertEquals(2, all.get("sessions").get("count").asInt());
      assertEquals("nginx:1.27", all.get("topImages").get(0).get("image").asText());
      assertEquals(2, all.get("topImages").get(0).get("runs").asInt());
      assertEquals(2, all.get("activeSessions").size());
      assertEquals(0, all.get("mySessions").get("recent").size(), "the owner started none");
      assertEquals("standard", all.get("rates").get(0).get("runnerClass").asText());

      JsonNode mine = api.get("/v1/orgs/usage/usage", alice).json();
      assertEquals(1, mine.get("sessions").get("count").asInt(), "a member sees their own sessions");
      assertEquals(a, mine.get("mySessions").get("recent").get(0).get("id").asText());
      assertEquals(1, mine.get("activeSessions").size());
      assertEquals(a, mine.get("activeSessions").get(0).get("id").asText());

      assertEquals(201, api.post("/v1/orgs/usage/grants", OP, "{\"seconds\": 3600, \"kind\": \"trial\"}").status());
      JsonNode metered = api.get("/v1/orgs/usage/usage", owner).json();
      assertTrue(metered.get("metered").asBoolean());
      assertEquals(3600, metered.get("committed").get("grantedSeconds").asLong());
      long used = metered.get("committed").get("usedSeconds").asLong();
      assertTrue(used >= 0 && used < 600, metered.toString());
      assertEquals(3600 - used, metered.get("committed").get("remainingSeconds").asLong(), 1);
      assertFalse(metered.get("onDemand").get("enabled").asBoolean());

      assertEquals("month", api.get("/v1/orgs/usage/usage?month=2026-13", owner).errorField());
      assertEquals(403, api.get("/v1/orgs/usage/usage", OP).status());
      assertEquals(404, api.get("/v1/orgs/elsewhere/usage", owner).status());
      JsonNode past = api.get("/v1/orgs/usage/usage?month=2020-01", owner).json();
      assertEquals(0, past.get("sessions").get("count").asInt());
      api.delete("/v1/sessions/" + a, alice);
      api.delete("/v1/sessions/" + b, bob);
    }
  }
}
