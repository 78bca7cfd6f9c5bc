package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A start reserves the session in the index in a short transaction and starts its entity after
 * the commit: the reservation counts against the caps while the entity starts, answers for the
 * session meanwhile, is replaced by the entity's first state, and stops counting once it is old
 * enough to belong to a start that failed.
 */
class StartReservationTest {

  private static TestServer server;
  private static ApiClient api;
  private static int orgs;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 2, max = 4 }");
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void aStartedSessionsRowHoldsTheEntitysFirstState() {
    String member = member(newOrg(1), "ada");
    JsonNode created = api.post("/v1/sessions", member, "{}").json();
    String id = created.get("id").asText();
    assertTrue(server.count("SELECT last_seq_nr FROM sessions WHERE id = '" + id + "'") >= 1,
        "the reservation is replaced by the entity's state when the start answers");
    SessionState indexed = SessionIndex.fromJson(snapshot(id));
    assertEquals(Instant.parse(created.get("createdAt").asText()), indexed.createdAt().truncatedTo(ChronoUnit.MILLIS),
        "the row holds the entity's state, not the request's guess");
  }

  @Test
  void aReservationCountsAgainstTheOrganisationsCapAndAnswersForItsSession() throws Exception {
    String org = newOrg(1);
    String member = member(org, "bob");
    UUID reserved = reserve(org, "carol", Instant.now());
    String carol = member(org, "carol");

    Response refused = api.post("/v1/sessions", member, "{}");
    assertEquals(409, refused.status(), refused.body());
    assertTrue(refused.errorMessage().contains("maxLiveSessions"), refused.errorMessage());

    Response shown = api.get("/v1/sessions/" + reserved, carol);
    assertEquals(200, shown.status(), shown.body());
    assertEquals("provisioning", shown.json().get("state").asText());
  }

  @Test
  void aReservationLeftByAFailedStartStopsCountingAfterFiveMinutes() throws Exception {
    String org = newOrg(1);
    String member = member(org, "dan");
    UUID stale = reserve(org, "erin", Instant.now().minus(Duration.ofMinutes(6)));

    Response created = api.post("/v1/sessions", member, "{}");
    assertEquals(201, created.status(), created.body());
    assertEquals(0, server.count("SELECT count(*) FROM sessions WHERE id = '" + stale + "'"),
        "the stale reservation is gone");
  }

  @Test
  void theUsersOwnReservationOfAFailedStartDoesNotStandInForTheNewSession() throws Exception {
    String org = newOrg(5);
    String fay = member(org, "fay");
    UUID failed = reserve(org, "fay", Instant.now().minus(Duration.ofMinutes(1)));

    Response created = api.post("/v1/sessions", fay, "{}");
    assertEquals(201, created.status(), created.body());
    assertNotEquals(failed.toString(), created.json().get("id").asText());
    assertEquals(0, server.count("SELECT count(*) FROM sessions WHERE id = '" + failed + "'"),
        "the reservation, whose session never started, is gone");
  }

  @Test
  void aSessionStoppedThroughThisNodeStopsCountingBeforeTheIndexCatchesUp() throws Exception {
    // The index follows the journal only every 30 s here, so it still shows the stopped session live.
    try (TestServer lagging = TestServer.start(String.join("\n",
        "offload.runners.classes.standard { provider = local, min-warm = 2, max = 4 }",
        "offload.db.read-journal-poll = 30s"))) {
      ApiClient lagged = lagging.api();
      assertEquals(201, lagged.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"lagging\"}").status());
      String owner = lagged.post("/v1/orgs/lagging/tokens", TestServer.OPERATOR_TOKEN,
          "{\"user\":\"owner\",\"role\":\"owner\"}").json().get("token").asText();
      assertEquals(200, lagged.put("/v1/orgs/lagging/settings", owner, "{\"maxLiveSessions\": 1}").status());
      String first = lagged.post("/v1/sessions", owner, "{}").json().get("id").asText();
      assertEquals("terminated", lagged.delete("/v1/sessions/" + first, owner).json().get("state").asText());
      assertEquals(1, lagging.count("SELECT count(*) FROM sessions WHERE id = '" + first + "' AND state <> 'terminated'"),
          "the index has not caught up yet");

      Response next = lagged.post("/v1/sessions", owner, "{}");
      assertEquals(201, next.status(), next.body());
    }
  }

  // ---- helpers ----

  private static String newOrg(int maxLiveSessions) {
    String org = "reserve" + (++orgs);
    assertEquals(201, api.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"" + org + "\"}").status());
    String owner = token(org, "owner", "owner");
    assertEquals(200, api.put("/v1/orgs/" + org + "/settings", owner,
        "{\"maxLiveSessions\": " + maxLiveSessions + "}").status());
    return org;
  }

  private static String member(String org, String user) {
    return token(org, user, "member");
  }

  private static String token(String org, String user, String role) {
    return api.post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
        "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}").json().get("token").asText();
  }

  /** The row a start request writes before it starts the entity. */
  private static UUID reserve(String org, String user, Instant at) throws Exception {
    SessionState fresh = SessionState.empty(UUID.randomUUID().toString());
    SessionState placeholder = fresh.apply(fresh.requested(org, user, "standard", 300, Map.of(), Duration.ofMinutes(2), at));
    try (Connection c = server.connect();
        PreparedStatement st = c.prepareStatement(
            "INSERT INTO sessions (id, org, user_name, runner_class, state, created_at, last_seq_nr, snapshot)"
                + " VALUES (?, ?, ?, 'standard', 'provisioning', ?, 0, ?::jsonb)")) {
      st.setObject(1, UUID.fromString(placeholder.id()));
      st.setString(2, org);
      st.setString(3, user);
      st.setTimestamp(4, Timestamp.from(at));
      st.setString(5, SessionIndex.toJson(placeholder));
      st.executeUpdate();
    }
    return UUID.fromString(placeholder.id());
  }

  private static String snapshot(String id) {
    try (Connection c = server.connect();
        var rs = c.createStatement().executeQuery("SELECT snapshot FROM sessions WHERE id = '" + id + "'")) {
      rs.next();
      return rs.getString(1);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
