package dev.offload.api;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every endpoint of the lifecycle API over real HTTP: success, each error code, who sees what. */
class ApiTest {
  private static final String OPERATOR = TestServer.OPERATOR_TOKEN;
  private static TestServer server;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 4, max = 4 }");
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** An organisation with an owner and two members, each with a token. */
  record Org(String id, String owner, String alice, String bob) {}

  private static Org newOrg() {
    String id = "org-" + UUID.randomUUID().toString().substring(0, 8);
    assertEquals(201, api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + id + "\",\"name\":\"Acme\"}").status());
    return new Org(id, token(id, "olivia", "owner"), token(id, "alice", "member"), token(id, "bob", "member"));
  }

  private static String token(String org, String user, String role) {
    Response r = api.post("/v1/orgs/" + org + "/tokens", OPERATOR, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals(user, r.json().get("user").asText());
    assertEquals(role, r.json().get("role").asText());
    return r.json().get("token").asText();
  }

  private static JsonNode awaitState(String id, String token, String... states) {
    List<String> wanted = List.of(states);
    return Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + id, token).json(),
        s -> wanted.contains(s.path("state").asText()), "session " + id + " in " + wanted);
  }

  private static void assertError(Response r, int status, String code) {
    assertEquals(status, r.status(), r.body());
    assertEquals(code, r.errorCode(), r.body());
    assertFalse(r.errorMessage() == null || r.errorMessage().isBlank(), "a message says what to change");
    assertTrue(r.raw().headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
  }

  // ---- operations ----

  @Test
  void operationsEndpointsNeedNoToken() {
    assertEquals(200, api.get("/health/alive", null).status());
    Response ready = Await.until(Duration.ofSeconds(10), () -> api.get("/health/ready", null), r -> r.status() == 200, "ready");
    assertEquals(true, ready.json().path("checks").path("database").asBoolean());
    assertEquals(true, ready.json().path("checks").path("journal").asBoolean());
    assertFalse(api.get("/version", null).json().path("version").asText().isEmpty());
    api.get("/v1/sessions", "nope");
    String metrics = api.get("/metrics", null).body();
    assertTrue(metrics.contains("offload_http_request_duration_seconds"), metrics);
    assertTrue(metrics.contains("offload_sessions"), metrics);
  }

  // ---- errors that happen before any rule ----

  @Test
  void everyErrorIsJson() {
    assertError(api.get("/no/such/path", OPERATOR), 404, "not_found");
    assertError(api.get("/v1/no-such-thing", OPERATOR), 404, "not_found");
    assertError(api.send("PATCH", "/v1/sessions", OPERATOR, null, null), 405, "method_not_allowed");
    assertError(api.get("/v1/sessions", null), 401, "unauthenticated");
    assertError(api.get("/v1/sessions", "not-a-token"), 401, "unauthenticated");
    Org org = newOrg();
    assertError(api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": "), 400, "invalid_argument");
    assertError(api.send("POST", "/v1/sessions", org.alice(), "text/plain", "{}"), 415, "unsupported_media_type");
    assertError(api.post("/v1/sessions", org.alice(), "{\"x\":\"" + "a".repeat(70_000) + "\"}"), 413, "payload_too_large");
    Response unknown = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSecs\": 300}");
    assertError(unknown, 400, "invalid_argument");
    assertEquals("idleTimeoutSecs", unknown.errorField());
    Response wrongType = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": \"300\"}");
    assertError(wrongType, 400, "invalid_argument");
    assertEquals("idleTimeoutSeconds", wrongType.errorField());
    assertError(api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": 1e10}"), 400, "invalid_argument");
    assertError(api.post("/v1/sessions", org.alice(), "[1,2]"), 400, "invalid_argument");
    Response numberForString = api.post("/v1/sessions", org.alice(), "{\"labels\": {\"team\": 1}}");
    assertError(numberForString, 400, "invalid_argument");
    assertEquals("labels.team", numberForString.errorField());
    assertEquals(0, server.count("SELECT count(*) FROM sessions WHERE org = '" + org.id() + "'"), "nothing started");
  }

  // ---- organisations, tokens, settings ----

  @Test
  void organisationsAreManagedByTheOperator() {
    Org org = newOrg();
    assertError(api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + org.id() + "\"}"), 409, "conflict");
    Response badId = api.post("/v1/orgs", OPERATOR, "{\"id\":\"Not Valid!\"}");
    assertError(badId, 400, "invalid_argument");
    assertEquals("id", badId.errorField());
    assertError(api.post("/v1/orgs", org.owner(), "{\"id\":\"other-org\"}"), 403, "forbidden");
    assertEquals(org.id(), api.get("/v1/orgs/" + org.id(), org.alice()).json().get("id").asText());
    assertEquals(org.id(), api.get("/v1/orgs/" + org.id(), OPERATOR).json().get("id").asText());

    Org other = newOrg();
    assertError(api.get("/v1/orgs/" + other.id(), org.owner()), 404, "not_found");
    assertError(api.post("/v1/orgs/" + org.id() + "/tokens", org.alice(), "{\"user\":\"carol\",\"role\":\"member\"}"), 403, "forbidden");
    Response badRole = api.post("/v1/orgs/" + org.id() + "/tokens", org.owner(), "{\"user\":\"carol\",\"role\":\"admin\"}");
    assertError(badRole, 400, "invalid_argument");
    assertEquals("role", badRole.errorField());
  }

  @Test
  void revokedTokensAreRefusedAtOnce() {
    Org org = newOrg();
    Response issued = api.post("/v1/orgs/" + org.id() + "/tokens", org.owner(), "{\"user\":\"dave\",\"role\":\"member\"}");
    String token = issued.json().get("token").asText();
    assertEquals(200, api.get("/v1/sessions", token).status());
    assertEquals(204, api.delete("/v1/orgs/" + org.id() + "/tokens/" + issued.json().get("id").asText(), org.owner()).status());
    assertError(api.get("/v1/sessions", token), 401, "unauthenticated");
    assertError(api.delete("/v1/orgs/" + org.id() + "/tokens/no-such-token", org.owner()), 404, "not_found");
  }

  @Test
  void settingsAreReadByMembersAndChangedByOwners() {
    Org org = newOrg();
    JsonNode settings = api.get("/v1/orgs/" + org.id() + "/settings", org.alice()).json();
    assertEquals(300, settings.get("idleTimeoutSeconds").asInt());
    assertEquals(1, settings.get("maxSessionsPerUser").asInt());
    assertTrue(settings.get("offloadEnabled").asBoolean());
    assertError(api.put("/v1/orgs/" + org.id() + "/settings", org.alice(), "{\"idleTimeoutSeconds\": 60}"), 403, "forbidden");
    for (String bad : List.of("9", "3601", "-1")) {
      Response r = api.put("/v1/orgs/" + org.id() + "/settings", org.owner(), "{\"idleTimeoutSeconds\": " + bad + "}");
      assertError(r, 400, "invalid_argument");
      assertEquals("idleTimeoutSeconds", r.errorField());
    }
    assertEquals(300, api.get("/v1/orgs/" + org.id() + "/settings", org.owner()).json().get("idleTimeoutSeconds").asInt(),
        "a rejected change changes nothing");
    JsonNode changed = api.put("/v1/orgs/" + org.id() + "/settings", org.owner(), "{\"idleTimeoutSeconds\": 120}").json();
    assertEquals(120, changed.get("idleTimeoutSeconds").asInt());
    assertTrue(changed.get("offloadEnabled").asBoolean(), "unspecified settings keep their value");
    String settingsPath = "/v1/orgs/" + org.id() + "/settings";
    assertEquals(500, api.put(settingsPath, org.owner(), "{\"monthlyLimitCents\": 500}").json().get("monthlyLimitCents").asInt());
    assertEquals(500, api.put(settingsPath, org.owner(), "{\"onDemandEnabled\": true}").json().get("monthlyLimitCents").asInt(),
        "a PUT without monthlyLimitCents keeps the limit");
    assertTrue(api.put(settingsPath, org.owner(), "{\"monthlyLimitCents\": null}").json().get("monthlyLimitCents").isNull(),
        "an explicit null removes the limit");
    for (String bad : List.of("\"500\"", "1.5", "-1", "true")) {
      assertError(api.put(settingsPath, org.owner(), "{\"monthlyLimitCents\": " + bad + "}"), 400, "invalid_argument");
    }
    assertTrue(api.get(settingsPath, org.owner()).json().get("monthlyLimitCents").isNull(), "refused limits change nothing");
  }

  // ---- sessions ----

  @Test
  void aSessionGoesFromProvisioningToActiveAndIsStopped() throws Exception {
    Org org = newOrg();
    Response created = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": 600, \"labels\": {\"team\": \"web\"}}");
    assertEquals(201, created.status(), created.body());
    JsonNode session = created.json();
    String id = session.get("id").asText();
    assertEquals("provisioning", session.get("state").asText());
    assertEquals("alice", session.get("user").asText());
    assertEquals(org.id(), session.get("org").asText());
    assertEquals(600, session.get("idleTimeoutSeconds").asInt());
    assertEquals("web", session.path("labels").path("team").asText());

    JsonNode running = awaitState(id, org.alice(), "active", "grace-period");
    assertTrue(running.path("runner").path("id").asText().startsWith("local-"), running.toString());
    assertFalse(running.path("activatedAt").isNull());

    Response again = api.post("/v1/sessions", org.alice(), "{}");
    assertEquals(200, again.status(), "one live session per user: the same one comes back");
    assertEquals(id, again.json().get("id").asText());
    assertError(api.post("/v1/sessions", org.alice(), "{\"runnerClass\": \"gpu\"}"), 400, "invalid_argument");

    Response stopped = api.delete("/v1/sessions/" + id, org.alice());
    assertEquals(200, stopped.status());
    assertEquals("terminated", stopped.json().get("state").asText());
    assertEquals("stopped", stopped.json().get("terminationReason").asText());
    assertEquals("terminated", api.delete("/v1/sessions/" + id, org.alice()).json().get("state").asText(), "idempotent");
    assertError(api.post("/v1/sessions/" + id + "/resume", org.alice(), ""), 409, "session_terminated");
    JsonNode after = Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions/" + id, org.alice()).json(),
        s -> s.path("state").asText().equals("terminated"), "terminated");
    assertEquals("stopped", after.get("terminationReason").asText());
    JsonNode stretches = after.get("stretches");
    assertEquals("provisioning", stretches.get(0).get("kind").asText());
    assertFalse(stretches.get(0).get("billed").asBoolean());
    long billedMillis = 0;
    for (JsonNode st : stretches) {
      if (st.get("billed").asBoolean()) {
        billedMillis += java.time.Duration.between(java.time.Instant.parse(st.get("from").asText()),
            java.time.Instant.parse(st.get("to").asText())).toMillis();
      }
    }
    assertEquals((billedMillis + 999) / 1000, after.get("billableSeconds").asLong(), "charged time rounds up to seconds");
  }

  @Test
  void idleTimeoutOutsideTheRangeIsRefusedWithItsField() {
    Org org = newOrg();
    for (String bad : List.of("9", "3601", "-1")) {
      Response r = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": " + bad + "}");
      assertError(r, 400, "invalid_argument");
      assertEquals("idleTimeoutSeconds", r.errorField());
    }
  }

  @Test
  void anOrganisationCanForbidChoosingTheIdleTimeout() {
    Org org = newOrg();
    api.put("/v1/orgs/" + org.id() + "/settings", org.owner(), "{\"allowUserIdleTimeout\": false, \"idleTimeoutSeconds\": 45}");
    Response refused = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": 600}");
    assertError(refused, 400, "invalid_argument");
    assertEquals("idleTimeoutSeconds", refused.errorField());
    Response created = api.post("/v1/sessions", org.alice(), "{}");
    assertEquals(45, created.json().get("idleTimeoutSeconds").asInt(), "the organisation's timeout applies");
    api.delete("/v1/sessions/" + created.json().get("id").asText(), org.alice());
  }

  @Test
  void idempotencyKeyReturnsTheSameSessionAndRefusesAnotherBody() {
    Org org = newOrg();
    Map<String, String> key = Map.of("Idempotency-Key", "build-42");
    Response first = api.post("/v1/sessions", org.bob(), "{\"idleTimeoutSeconds\": 60}", key);
    assertEquals(201, first.status(), first.body());
    Response repeat = api.post("/v1/sessions", org.bob(), "{\"idleTimeoutSeconds\": 60}", key);
    assertEquals(200, repeat.status());
    assertEquals(first.json().get("id"), repeat.json().get("id"));
    assertError(api.post("/v1/sessions", org.bob(), "{\"idleTimeoutSeconds\": 90}", key), 409, "conflict");
    Response spelledOut = api.post("/v1/sessions", org.bob(), "{\"idleTimeoutSeconds\": 60, \"runnerClass\": \"standard\"}", key);
    assertEquals(200, spelledOut.status(), "the default runner class spelled out is the same request");
    assertError(api.post("/v1/sessions", org.bob(), "{}", Map.of("Idempotency-Key", "k".repeat(129))), 400, "invalid_argument");
    api.delete("/v1/sessions/" + first.json().get("id").asText(), org.bob());
  }

  @Test
  void sessionsAreVisibleOnlyToTheirUserAndTheOwners() {
    Org org = newOrg();
    Org other = newOrg();
    String id = api.post("/v1/sessions", org.alice(), "{}").json().get("id").asText();
    assertError(api.get("/v1/sessions/" + id, org.bob()), 404, "not_found");
    assertError(api.delete("/v1/sessions/" + id, org.bob()), 404, "not_found");
    assertError(api.get("/v1/sessions/" + id, other.owner()), 404, "not_found");
    assertError(api.get("/v1/sessions/" + id, other.alice()), 404, "not_found");
    assertEquals(200, api.get("/v1/sessions/" + id, org.owner()).status());
    for (String bad : List.of("..%2F..%2Fetc%2Fpasswd", "not-a-uuid", UUID.randomUUID().toString(), "%E2%98%83", "x".repeat(10_000))) {
      assertError(api.get("/v1/sessions/" + bad, org.alice()), 404, "not_found");
    }
    assertError(api.get("/v1/sessions/" + id, OPERATOR), 403, "forbidden");
    api.delete("/v1/sessions/" + id, org.owner());
  }

  @Test
  void listingIsNewestFirstFilteredAndPaged() {
    Org org = newOrg();
    String a = api.post("/v1/sessions", org.alice(), "{}").json().get("id").asText();
    api.delete("/v1/sessions/" + a, org.alice());
    String b = api.post("/v1/sessions", org.alice(), "{}").json().get("id").asText();
    String c = api.post("/v1/sessions", org.bob(), "{}").json().get("id").asText();

    JsonNode all = api.get("/v1/sessions", org.owner()).json();
    assertEquals(List.of(c, b, a), ids(all));
    assertEquals(List.of(b, a), ids(api.get("/v1/sessions", org.alice()).json()), "members see their own");
    assertEquals(List.of(c), ids(api.get("/v1/sessions?user=bob", org.owner()).json()));
    assertError(api.get("/v1/sessions?user=bob", org.alice()), 403, "forbidden");
    JsonNode terminated = Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions?state=terminated", org.owner()).json(),
        j -> ids(j).equals(List.of(a)), "the stopped session listed as terminated");
    assertEquals(List.of(a), ids(terminated));

    JsonNode page1 = api.get("/v1/sessions?limit=2", org.owner()).json();
    assertEquals(List.of(c, b), ids(page1));
    JsonNode page2 = api.get("/v1/sessions?limit=2&cursor=" + page1.get("nextCursor").asText(), org.owner()).json();
    assertEquals(List.of(a), ids(page2));
    assertTrue(page2.get("nextCursor").isNull());

    assertError(api.get("/v1/sessions?limit=0", org.owner()), 400, "invalid_argument");
    assertError(api.get("/v1/sessions?limit=501", org.owner()), 400, "invalid_argument");
    assertError(api.get("/v1/sessions?limit=ten", org.owner()), 400, "invalid_argument");
    assertError(api.get("/v1/sessions?state=sleeping", org.owner()), 400, "invalid_argument");
    assertError(api.get("/v1/sessions?cursor=garbage", org.owner()), 400, "invalid_argument");
    api.delete("/v1/sessions/" + b, org.owner());
    api.delete("/v1/sessions/" + c, org.owner());
  }

  private static List<String> ids(JsonNode page) {
    List<String> ids = new ArrayList<>();
    page.get("sessions").forEach(s -> ids.add(s.get("id").asText()));
    return ids;
  }

  @Test
  void activityListsSessionsWithTheirCharge() {
    Org org = newOrg();
    String a = api.post("/v1/sessions", org.alice(), "{}").json().get("id").asText();
    awaitState(a, org.alice(), "active", "grace-period");
    JsonNode stopped = api.delete("/v1/sessions/" + a, org.alice()).json();
    String b = api.post("/v1/sessions", org.bob(), "{}").json().get("id").asText();

    // The view reads the session index, which follows the journal within a moment.
    JsonNode all = Await.until(Duration.ofSeconds(10), () -> api.get("/v1/orgs/" + org.id() + "/activity", org.owner()).json(),
        j -> ids(j).equals(List.of(b, a))
            && j.get("sessions").get(1).get("billableSeconds").asLong() == stopped.get("billableSeconds").asLong(),
        "the activity view to show the stopped session's charge");
    JsonNode row = all.get("sessions").get(1);
    assertEquals("alice", row.get("user").asText());
    assertEquals(stopped.get("billableSeconds").asLong(), row.get("billableSeconds").asLong());
    assertEquals(stopped.get("createdAt").asText(), row.get("startedAt").asText());
    assertTrue(row.get("durationSeconds").asLong() >= row.get("billableSeconds").asLong() - 1);
    assertEquals(0, row.get("containers").asInt());
    assertEquals(List.of(a), ids(api.get("/v1/orgs/" + org.id() + "/activity", org.alice()).json()), "members see their own");
    assertEquals(1, api.get("/v1/orgs/" + org.id() + "/activity?limit=1", org.owner()).json().get("sessions").size());
    assertError(api.get("/v1/orgs/" + org.id() + "/activity", newOrg().owner()), 404, "not_found");
    assertError(api.get("/v1/orgs/" + org.id() + "/activity", OPERATOR), 403, "forbidden");
    assertError(api.get("/v1/orgs/" + org.id() + "/activity?limit=0", org.owner()), 400, "invalid_argument");
    api.delete("/v1/sessions/" + b, org.bob());
  }

  @Test
  void eventStreamFollowsTransitionsUntilTerminated() throws Exception {
    Org org = newOrg();
    String id = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": 600}").json().get("id").asText();
    awaitState(id, org.alice(), "active", "grace-period");
    HttpResponse<InputStream> stream = api.http().send(
        api.request("/v1/sessions/" + id + "/events", org.alice()).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, stream.statusCode());
    assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> readAll(stream.body()));
    api.delete("/v1/sessions/" + id, org.alice());
    List<String> received = lines.get(20, TimeUnit.SECONDS); // the stream ends after terminated
    List<String> states = received.stream().filter(l -> l.startsWith("data:"))
        .map(l -> l.replaceFirst(".*\"state\":\"([^\"]+)\".*", "$1")).toList();
    assertTrue(received.stream().anyMatch(l -> l.matches("event: ?state")), received.toString());
    assertTrue(List.of("active", "grace-period").contains(states.get(0)), states.toString());
    assertEquals("terminated", states.get(states.size() - 1), states.toString());
  }

  private static List<String> readAll(InputStream in) {
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) lines.add(line);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return lines;
  }

  @Test
  void anIdleSessionIsResumedOnTheSameRunner() {
    Org org = newOrg();
    String id = api.post("/v1/sessions", org.alice(), "{\"idleTimeoutSeconds\": 10}").json().get("id").asText();
    JsonNode idle = Await.until(Duration.ofSeconds(25), () -> api.get("/v1/sessions/" + id, org.alice()).json(),
        s -> s.path("state").asText().equals("idle"), "idle after the grace period");
    assertFalse(idle.get("expiresAt").isNull());
    Response resumed = api.post("/v1/sessions/" + id + "/resume", org.alice(), "");
    assertEquals(200, resumed.status(), resumed.body());
    assertEquals("active", resumed.json().get("state").asText());
    assertEquals(idle.get("runner"), resumed.json().get("runner"));
    assertEquals("api-resume", resumed.json().get("lastActivityReason").asText());
    api.delete("/v1/sessions/" + id, org.alice());
  }

  @Test
  void disablingOffloadEndsLiveSessionsAndRefusesNewOnes() {
    Org org = newOrg();
    String id = api.post("/v1/sessions", org.alice(), "{}").json().get("id").asText();
    awaitState(id, org.alice(), "active", "grace-period");
    assertEquals(200, api.put("/v1/orgs/" + org.id() + "/settings", org.owner(), "{\"offloadEnabled\": false}").status());
    JsonNode ended = awaitState(id, org.alice(), "terminated");
    assertEquals("disabled", ended.get("terminationReason").asText());
    assertError(api.post("/v1/sessions", org.bob(), "{}"), 403, "offload_disabled");
  }
}
