package dev.offload.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * quality.md "Bad input": well over a hundred malformed or hostile requests over real HTTP, every
 * endpoint, each answered with the JSON error of api.md whose message names what to change; then
 * proof that none of them changed anything and that a normal lifecycle still works.
 */
class BadInputBatteryTest {
  private static final String OPERATOR = TestServer.OPERATOR_TOKEN;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static TestServer server;
  private static ApiClient api;
  private static String orgA;
  private static String ownerA;
  private static String alice;
  private static String revoked;
  private static String sessionA;
  private static String orgB;
  private static String ownerB;
  private static String carol;
  private static String sessionB;
  private static String tokenIdB;
  private static String webhookB;
  private static Map<String, Long> before;

  /** One hostile request and the answer it must get. {@code hint} must appear in the message. */
  record Case(String name, Supplier<Response> request, int status, String code, String hint) {}

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 2, max = 4 }");
    api = server.api();
    orgA = newOrg();
    ownerA = token(orgA, "olivia", "owner").get("token").asText();
    alice = token(orgA, "alice", "member").get("token").asText();
    JsonNode gone = token(orgA, "gone", "member");
    revoked = gone.get("token").asText();
    assertEquals(204, api.delete("/v1/orgs/" + orgA + "/tokens/" + gone.get("id").asText(), ownerA).status());
    orgB = newOrg();
    ownerB = token(orgB, "oscar", "owner").get("token").asText();
    JsonNode carolToken = token(orgB, "carol", "member");
    carol = carolToken.get("token").asText();
    tokenIdB = carolToken.get("id").asText();
    Response hook = api.post("/v1/orgs/" + orgB + "/webhooks", ownerB,
        "{\"url\":\"https://hooks.example.com/offload\",\"events\":[\"session.state\"]}");
    assertEquals(201, hook.status(), hook.body());
    webhookB = hook.json().get("id").asText();
    sessionA = quietSession(alice);
    sessionB = quietSession(carol);
    // The ledger follows the journal within a moment: count once it has caught up.
    Await.until(Duration.ofSeconds(20), () -> server.count("SELECT count(*) FROM ledger"), n -> n == 2,
        "a ledger row for each session");
    before = counts();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String newOrg() {
    String id = "org-" + UUID.randomUUID().toString().substring(0, 8);
    Response r = api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + id + "\",\"name\":\"Acme\"}");
    assertEquals(201, r.status(), r.body());
    return id;
  }

  private static JsonNode token(String org, String user, String role) {
    Response r = api.post("/v1/orgs/" + org + "/tokens", OPERATOR, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    return r.json();
  }

  /** A session that settles in its grace period for an hour, so it writes nothing while the battery runs. */
  private static String quietSession(String token) {
    Response r = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 3600}");
    assertEquals(201, r.status(), r.body());
    String id = r.json().get("id").asText();
    Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + id, token).json(),
        s -> s.path("state").asText().equals("grace-period"), "session " + id + " in its grace period");
    return id;
  }

  /** Everything a request could write: journal and tags (runner-pool health aside), ledger, product tables, leases. */
  private static Map<String, Long> counts() {
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("journal", server.count("SELECT count(*) FROM event_journal WHERE persistence_id <> 'runner-pool'"));
    counts.put("ledger", server.count("SELECT count(*) FROM ledger"));
    counts.put("sessions", server.count("SELECT count(*) FROM sessions"));
    counts.put("organisations", server.count("SELECT count(*) FROM organisations"));
    counts.put("tokens", server.count("SELECT count(*) FROM tokens"));
    counts.put("revoked tokens", server.count("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL"));
    counts.put("webhooks", server.count("SELECT count(*) FROM webhooks"));
    JsonNode runners = api.get("/v1/runners", OPERATOR).json().get("runners");
    long leased = 0;
    for (JsonNode r : runners) if (r.path("state").asText().equals("leased")) leased++;
    counts.put("leased runners", leased);
    return counts;
  }

  @TestFactory
  Stream<DynamicTest> hostileRequestsGetAClearErrorAndChangeNothing() {
    List<Case> cases = cases();
    assertTrue(cases.size() >= 100, "the battery has " + cases.size() + " cases");
    Stream<DynamicTest> battery = cases.stream().map(c -> dynamicTest(c.name(), () -> check(c)));
    Stream<DynamicTest> after = Stream.of(
        dynamicTest("nothing was written by " + cases.size() + " rejected requests",
            () -> assertEquals(before, counts())),
        dynamicTest("a normal lifecycle still works", BadInputBatteryTest::lifecycle));
    return Stream.concat(battery, after);
  }

  private static void check(Case c) {
    Response r = c.request().get();
    assertEquals(c.status(), r.status(), c.name() + ": " + r.body());
    String contentType = r.raw() == null ? "application/json" : r.raw().headers().firstValue("Content-Type").orElse("");
    assertTrue(contentType.startsWith("application/json"), "JSON, not " + contentType + ": " + r.body());
    assertEquals(c.code(), r.errorCode(), r.body());
    String message = r.errorMessage();
    assertFalse(message == null || message.isBlank(), "a message: " + r.body());
    assertTrue(message.toLowerCase(Locale.ROOT).contains(c.hint().toLowerCase(Locale.ROOT)),
        c.name() + ": the message names what to change (" + c.hint() + "): " + message);
    assertFalse(message.contains("Exception") || message.contains("\tat "), "no stack trace: " + message);
  }

  private static void lifecycle() {
    Response started = api.post("/v1/sessions", ownerA, "{\"idleTimeoutSeconds\": 60, \"labels\": {\"after\": \"battery\"}}");
    assertEquals(201, started.status(), started.body());
    String id = started.json().get("id").asText();
    Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + id, ownerA).json(),
        s -> List.of("active", "grace-period").contains(s.path("state").asText()), "the new session running");
    Response stopped = api.delete("/v1/sessions/" + id, ownerA);
    assertEquals(200, stopped.status(), stopped.body());
    assertEquals("terminated", stopped.json().get("state").asText());
    assertEquals(200, api.get("/v1/sessions/" + sessionA, alice).status(), "older sessions still answer");
  }

  // ---- the table ----

  /** Every endpoint of api.md with a body that would be acceptable, for the auth and method cases. */
  private record Endpoint(String method, String path, String body) {}

  private static List<Endpoint> endpoints() {
    String s = "/v1/sessions/" + sessionA;
    String o = "/v1/orgs/" + orgA;
    return List.of(
        new Endpoint("POST", "/v1/sessions", "{}"),
        new Endpoint("GET", "/v1/sessions", null),
        new Endpoint("GET", s, null),
        new Endpoint("DELETE", s, null),
        new Endpoint("POST", s + "/resume", null),
        new Endpoint("GET", s + "/events", null),
        new Endpoint("GET", s + "/tunnel", null),
        new Endpoint("GET", s + "/diagnose", null),
        new Endpoint("POST", "/v1/orgs", "{\"id\":\"never-created\"}"),
        new Endpoint("GET", o, null),
        new Endpoint("POST", o + "/tokens", "{\"user\":\"mallory\",\"role\":\"owner\"}"),
        new Endpoint("DELETE", o + "/tokens/tok_x", null),
        new Endpoint("GET", o + "/settings", null),
        new Endpoint("PUT", o + "/settings", "{\"offloadEnabled\":false}"),
        new Endpoint("POST", o + "/grants", "{\"seconds\":100,\"kind\":\"committed\"}"),
        new Endpoint("GET", "/v1/runners", null),
        new Endpoint("POST", "/v1/runners/local-1/drain", null),
        new Endpoint("GET", o + "/usage", null),
        new Endpoint("GET", o + "/activity", null),
        new Endpoint("GET", o + "/audit", null),
        new Endpoint("POST", o + "/webhooks", "{\"url\":\"https://x.example.com\",\"events\":[\"session.state\"]}"),
        new Endpoint("GET", o + "/webhooks", null),
        new Endpoint("DELETE", o + "/webhooks/wh_x", null));
  }

  private static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    authentication(cases);
    methods(cases);
    malformedBodies(cases);
    sessionFields(cases);
    otherFields(cases);
    queries(cases);
    ids(cases);
    otherOrganisations(cases);
    contentTypes(cases);
    sizes(cases);
    return cases;
  }

  /** Missing, malformed and revoked tokens, on every endpoint. */
  private static void authentication(List<Case> cases) {
    for (Endpoint e : endpoints()) {
      String what = e.method() + " " + e.path();
      cases.add(new Case("no token: " + what, () -> send(e, null, Map.of()), 401, "unauthenticated", "Bearer"));
      cases.add(new Case("revoked token: " + what, () -> send(e, revoked, Map.of()), 401, "unauthenticated", "revoked"));
      cases.add(new Case("Basic instead of Bearer: " + what,
          () -> send(e, null, Map.of("Authorization", "Basic YWxpY2U6c2VjcmV0")), 401, "unauthenticated", "Bearer"));
    }
    Endpoint list = new Endpoint("GET", "/v1/sessions", null);
    cases.add(new Case("empty bearer token", () -> send(list, null, Map.of("Authorization", "Bearer ")),
        401, "unauthenticated", "Bearer"));
    cases.add(new Case("a 10 KB token", () -> send(list, "t".repeat(7_000), Map.of()), 401, "unauthenticated", "token"));
    cases.add(new Case("a unicode token", () -> sendRaw("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tøkén☃"
        + "\r\nConnection: close\r\n\r\n"), 401, "unauthenticated", "token"));
    cases.add(new Case("a token with a SQL quote", () -> send(list, "x' OR '1'='1", Map.of()), 401, "unauthenticated", "token"));
    cases.add(new Case("the operator token prefixed", () -> send(list, "x" + OPERATOR, Map.of()), 401, "unauthenticated", "token"));
  }

  private static void methods(List<Case> cases) {
    String s = "/v1/sessions/" + sessionA;
    String o = "/v1/orgs/" + orgA;
    Object[][] wrong = {
        {"PATCH", "/v1/sessions", "GET"}, {"PUT", "/v1/sessions", "POST"}, {"POST", s, "GET"},
        {"PUT", s, "DELETE"}, {"GET", s + "/resume", "POST"}, {"DELETE", s + "/diagnose", "GET"},
        {"POST", s + "/events", "GET"}, {"POST", s + "/tunnel", "GET"}, {"GET", "/v1/orgs", "POST"},
        {"DELETE", o, "GET"}, {"GET", o + "/tokens", "POST"}, {"POST", o + "/settings", "PUT"},
        {"GET", o + "/grants", "POST"}, {"POST", "/v1/runners", "GET"}, {"GET", "/v1/runners/local-1/drain", "POST"},
        {"POST", o + "/usage", "GET"}, {"DELETE", o + "/activity", "GET"}, {"PUT", o + "/audit", "GET"},
        {"PUT", o + "/webhooks", "POST"}, {"POST", "/health/ready", "GET"}, {"DELETE", "/version", "GET"}};
    for (Object[] w : wrong) {
      String method = (String) w[0];
      String path = (String) w[1];
      String token = path.startsWith("/v1/runners") || path.equals("/v1/orgs") || path.endsWith("/grants") || path.endsWith("/audit")
          ? OPERATOR : path.startsWith(o) ? ownerA : alice;
      cases.add(new Case(method + " " + path, () -> api.send(method, path, token, null, null),
          405, "method_not_allowed", (String) w[2]));
    }
  }

  /** Bodies that are not the JSON object asked for. */
  private static void malformedBodies(List<Case> cases) {
    String[][] bodies = {
        {"truncated object", "{\"idleTimeoutSeconds\": "}, {"lone brace", "{"}, {"trailing garbage", "{} x"},
        {"two objects", "{}{}"}, {"single quotes", "{'idleTimeoutSeconds': 60}"}, {"comment", "{/* c */}"},
        {"trailing comma", "{\"idleTimeoutSeconds\": 60,}"}, {"bare word", "start"},
        {"NaN", "{\"idleTimeoutSeconds\": NaN}"}, {"unclosed string", "{\"labels\": {\"a\": \"b}}"},
        {"deeply nested", "[".repeat(20_000)}, {"control character in a string", "{\"labels\":{\"a\":\"\u0001\"}}"},
    };
    for (String[] b : bodies) {
      cases.add(new Case("malformed JSON (" + b[0] + ")", () -> api.post("/v1/sessions", alice, b[1]),
          400, "invalid_argument", "JSON"));
    }
    String[][] notObjects = {{"null", "null"}, {"array", "[1,2]"}, {"string", "\"start\""}, {"number", "42"}, {"true", "true"}};
    for (String[] b : notObjects) {
      cases.add(new Case("a JSON " + b[0] + " instead of an object", () -> api.post("/v1/sessions", alice, b[1]),
          400, "invalid_argument", "JSON object"));
    }
    cases.add(new Case("invalid UTF-8", () -> sendBytes("POST", "/v1/sessions", alice,
        new byte[] {'{', '"', 'o', 'r', 'g', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}),
        400, "invalid_argument", "UTF-8"));
    cases.add(new Case("malformed JSON on PUT settings", () -> api.put("/v1/orgs/" + orgA + "/settings", ownerA, "{\"offloadEnabled\":"),
        400, "invalid_argument", "JSON"));
    cases.add(new Case("malformed JSON on POST orgs", () -> api.post("/v1/orgs", OPERATOR, "{id: acme}"),
        400, "invalid_argument", "JSON"));
    cases.add(new Case("empty body on POST orgs", () -> api.post("/v1/orgs", OPERATOR, ""),
        400, "invalid_argument", "id"));
    cases.add(new Case("malformed JSON on POST tokens", () -> api.post("/v1/orgs/" + orgA + "/tokens", ownerA, "[\"user\""),
        400, "invalid_argument", "JSON"));
    cases.add(new Case("malformed JSON on POST webhooks", () -> api.post("/v1/orgs/" + orgA + "/webhooks", ownerA, "{\"url\""),
        400, "invalid_argument", "JSON"));
    cases.add(new Case("malformed JSON on POST grants", () -> api.post("/v1/orgs/" + orgA + "/grants", OPERATOR, "{\"seconds\":1"),
        400, "invalid_argument", "JSON"));
  }

  /** POST /v1/sessions: every field with a wrong type or out of range. */
  private static void sessionFields(List<Case> cases) {
    String[][] bad = {
        {"idleTimeoutSeconds", "9"}, {"idleTimeoutSeconds", "3601"}, {"idleTimeoutSeconds", "-1"},
        {"idleTimeoutSeconds", "0"}, {"idleTimeoutSeconds", "1e10"}, {"idleTimeoutSeconds", "\"300\""},
        {"idleTimeoutSeconds", "300.5"}, {"idleTimeoutSeconds", "2147483648"}, {"idleTimeoutSeconds", "99999999999999999999999"},
        {"idleTimeoutSeconds", "true"}, {"idleTimeoutSeconds", "[300]"}, {"idleTimeoutSeconds", "{\"s\":300}"},
        {"runnerClass", "\"huge\""}, {"runnerClass", "5"}, {"runnerClass", "\"../../etc/passwd\""},
        {"runnerClass", "\"" + "x".repeat(10_000) + "\""}, {"labels", "[]"}, {"labels", "\"team=web\""},
        {"labels", "{\"team\": 1}"}, {"labels", "{\"team\": null}"}, {"labels", "{\"team\": {\"a\":\"b\"}}"},
        {"label", "{\"\": \"empty key\"}"}, {"label", "{\"k\": \"" + "v".repeat(300) + "\"}"}, {"org", "5"},
    };
    for (String[] b : bad) {
      String body = "{\"" + (b[0].equals("label") ? "labels" : b[0]) + "\": " + b[1] + "}";
      String shown = b[1].length() > 40 ? b[1].substring(0, 40) + "…" : b[1];
      cases.add(new Case("POST /v1/sessions " + b[0] + "=" + shown, () -> api.post("/v1/sessions", alice, body),
          400, "invalid_argument", b[0]));
    }
    StringBuilder many = new StringBuilder("{\"labels\":{");
    for (int i = 0; i < 40; i++) many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    String manyLabels = many.append("}}").toString();
    cases.add(new Case("POST /v1/sessions with 40 labels", () -> api.post("/v1/sessions", alice, manyLabels),
        400, "invalid_argument", "labels"));
    cases.add(new Case("POST /v1/sessions unknown field", () -> api.post("/v1/sessions", alice, "{\"idleTimeoutSecs\": 60}"),
        400, "invalid_argument", "idleTimeoutSecs"));
    cases.add(new Case("POST /v1/sessions duplicate field", () -> api.post("/v1/sessions", alice,
        "{\"idleTimeoutSeconds\": 60, \"idleTimeoutSeconds\": 3}"), 400, "invalid_argument", "idleTimeoutSeconds"));
    cases.add(new Case("Idempotency-Key of 129 characters", () -> api.post("/v1/sessions", alice, "{}",
        Map.of("Idempotency-Key", "k".repeat(129))), 400, "invalid_argument", "Idempotency-Key"));
    cases.add(new Case("POST /v1/sessions for another organisation", () -> api.post("/v1/sessions", alice,
        "{\"org\": \"" + orgB + "\"}"), 404, "not_found", orgB));
    cases.add(new Case("POST /v1/sessions by the operator", () -> api.post("/v1/sessions", OPERATOR, "{}"),
        403, "forbidden", "token"));
  }

  /** Settings, organisations, tokens, grants and webhooks. */
  private static void otherFields(List<Case> cases) {
    String settings = "/v1/orgs/" + orgA + "/settings";
    String[][] badSettings = {
        {"idleTimeoutSeconds", "9"}, {"idleTimeoutSeconds", "3601"}, {"idleTimeoutSeconds", "-1"},
        {"idleTimeoutSeconds", "1e10"}, {"idleTimeoutSeconds", "\"300\""}, {"maxSessionsPerUser", "0"},
        {"maxSessionsPerUser", "-3"}, {"maxLiveSessions", "-5"}, {"offloadEnabled", "\"yes\""},
        {"offloadEnabled", "1"}, {"monthlyLimitCents", "-1"}, {"runnerClasses", "[\"nope\"]"},
        {"runnerClasses", "\"standard\""}, {"allowUserIdleTimeout", "null1"}, {"mystery", "1"},
    };
    for (String[] b : badSettings) {
      String body = "{\"" + b[0] + "\": " + b[1] + "}";
      String hint = b[1].equals("null1") ? "JSON" : b[0];
      cases.add(new Case("PUT settings " + b[0] + "=" + b[1], () -> api.put(settings, ownerA, body),
          400, "invalid_argument", hint));
    }
    cases.add(new Case("PUT settings by a member", () -> api.put(settings, alice, "{\"maxLiveSessions\": 1000}"),
        403, "forbidden", "owner"));

    String[][] badOrgs = {
        {"id", "\"Not Valid!\""}, {"id", "\"../../etc\""}, {"id", "\"ørg\""}, {"id", "\"" + "a".repeat(10_000) + "\""},
        {"id", "\"a\""}, {"id", "42"}, {"name", "7"}, {"name", "\"" + "n".repeat(5_000) + "\""}, {"owner", "\"x\""},
    };
    for (String[] b : badOrgs) {
      String body = b[0].equals("id") ? "{\"id\": " + b[1] + "}" : "{\"id\": \"never-created\", \"" + b[0] + "\": " + b[1] + "}";
      String shown = b[1].length() > 40 ? b[1].substring(0, 40) + "…" : b[1];
      cases.add(new Case("POST /v1/orgs " + b[0] + "=" + shown, () -> api.post("/v1/orgs", OPERATOR, body),
          400, "invalid_argument", b[0]));
    }
    cases.add(new Case("POST /v1/orgs by an owner", () -> api.post("/v1/orgs", ownerA, "{\"id\":\"never-created\"}"),
        403, "forbidden", "operator"));

    String tokens = "/v1/orgs/" + orgA + "/tokens";
    String[][] badTokens = {
        {"role", "{\"user\":\"mallory\",\"role\":\"admin\"}"}, {"role", "{\"user\":\"mallory\",\"role\":\"operator\"}"},
        {"role", "{\"user\":\"mallory\"}"}, {"user", "{\"user\":\"../root\",\"role\":\"member\"}"},
        {"user", "{\"user\":\"\",\"role\":\"member\"}"}, {"user", "{\"user\":\"" + "u".repeat(65) + "\",\"role\":\"member\"}"},
        {"user", "{\"role\":\"member\"}"}, {"user", "{\"user\":[\"a\"],\"role\":\"member\"}"},
        {"scopes", "{\"user\":\"m\",\"role\":\"member\",\"scopes\":[\"all\"]}"},
    };
    for (String[] b : badTokens) {
      cases.add(new Case("POST tokens " + b[1], () -> api.post(tokens, ownerA, b[1]), 400, "invalid_argument", b[0]));
    }
    cases.add(new Case("POST tokens by a member", () -> api.post(tokens, alice, "{\"user\":\"mallory\",\"role\":\"owner\"}"),
        403, "forbidden", "owner"));

    String grants = "/v1/orgs/" + orgA + "/grants";
    String[][] badGrants = {
        {"seconds", "{\"seconds\":-1,\"kind\":\"committed\"}"}, {"seconds", "{\"seconds\":\"10\",\"kind\":\"committed\"}"},
        {"seconds", "{\"kind\":\"committed\"}"}, {"kind", "{\"seconds\":10,\"kind\":\"free\"}"},
        {"kind", "{\"seconds\":10}"}, {"expiresAt", "{\"seconds\":10,\"kind\":\"trial\",\"expiresAt\":\"tomorrow\"}"},
    };
    for (String[] b : badGrants) {
      cases.add(new Case("POST grants " + b[1], () -> api.post(grants, OPERATOR, b[1]), 400, "invalid_argument", b[0]));
    }
    cases.add(new Case("POST grants by an owner", () -> api.post(grants, ownerA, "{\"seconds\":10,\"kind\":\"committed\"}"),
        403, "forbidden", "operator"));

    String webhooks = "/v1/orgs/" + orgA + "/webhooks";
    String[][] badHooks = {
        {"url", "{\"url\":\"ftp://x.example.com\",\"events\":[\"session.state\"]}"},
        {"url", "{\"url\":\"http://x.example.com\",\"events\":[\"session.state\"]}"},
        {"url", "{\"url\":\"not a url\",\"events\":[\"session.state\"]}"},
        {"url", "{\"url\":\"https://x.example.com/" + "p".repeat(3_000) + "\",\"events\":[\"session.state\"]}"},
        {"events", "{\"url\":\"https://x.example.com\",\"events\":[\"everything\"]}"},
        {"events", "{\"url\":\"https://x.example.com\",\"events\":[]}"},
        {"events", "{\"url\":\"https://x.example.com\",\"events\":\"session.state\"}"},
        {"secret", "{\"url\":\"https://x.example.com\",\"events\":[\"session.state\"],\"secret\":\"mine\"}"},
    };
    for (String[] b : badHooks) {
      String shown = b[1].length() > 80 ? b[1].substring(0, 80) + "…" : b[1];
      cases.add(new Case("POST webhooks " + shown, () -> api.post(webhooks, ownerA, b[1]), 400, "invalid_argument", b[0]));
    }
  }

  private static void queries(List<Case> cases) {
    String o = "/v1/orgs/" + orgA;
    String[][] bad = {
        {"/v1/sessions?limit=0", "limit"}, {"/v1/sessions?limit=501", "limit"}, {"/v1/sessions?limit=ten", "limit"},
        {"/v1/sessions?limit=-1", "limit"}, {"/v1/sessions?limit=99999999999", "limit"},
        {"/v1/sessions?state=sleeping", "state"}, {"/v1/sessions?cursor=garbage", "cursor"},
        {"/v1/sessions?cursor=" + "%00".repeat(20), "cursor"}, {o + "/activity?limit=0", "limit"},
        {o + "/usage?month=2026-13", "month"}, {o + "/usage?month=last", "month"}, {o + "/audit?month=20261", "month"},
        {"/v1/runners?state=exploded", "state"},
    };
    for (String[] b : bad) {
      String token = b[0].startsWith("/v1/runners") || b[0].contains("/audit") ? OPERATOR : ownerA;
      cases.add(new Case("GET " + b[0], () -> api.get(b[0], token), 400, "invalid_argument", b[1]));
    }
    cases.add(new Case("GET /v1/sessions?user= by a member", () -> api.get("/v1/sessions?user=olivia", alice),
        403, "forbidden", "user="));
  }

  /** Ids that are not ids: traversal, unicode, 10 KB, look-alikes. */
  private static void ids(List<Case> cases) {
    String[] badIds = {
        "..%2F..%2Fetc%2Fpasswd", "..;", "%E2%98%83", "x".repeat(10_000), "not-a-uuid",
        UUID.randomUUID().toString(), sessionA.toUpperCase(Locale.ROOT).replace('-', '_'), "%00", "'%20OR%201=1--",
    };
    for (String id : badIds) {
      String shown = id.length() > 40 ? id.substring(0, 40) + "…(" + id.length() + ")" : id;
      cases.add(new Case("GET session " + shown, () -> api.get("/v1/sessions/" + id, alice), 404, "not_found", "session"));
    }
    cases.add(new Case("GET session %2e%2e (resolves to /v1/)", () -> api.get("/v1/sessions/%2e%2e", alice),
        404, "not_found", "endpoint"));
    cases.add(new Case("DELETE session with a 10 KB id", () -> api.delete("/v1/sessions/" + "y".repeat(10_000), alice),
        404, "not_found", "session"));
    cases.add(new Case("resume a made-up session", () -> api.post("/v1/sessions/" + UUID.randomUUID() + "/resume", alice, ""),
        404, "not_found", "session"));
    cases.add(new Case("GET org ../", () -> api.get("/v1/orgs/..%2F" + orgA, ownerA), 404, "not_found", "organisation"));
    cases.add(new Case("GET org 10 KB", () -> api.get("/v1/orgs/" + "o".repeat(10_000), ownerA), 404, "not_found", "organisation"));
    cases.add(new Case("drain a made-up runner", () -> api.post("/v1/runners/" + "%E2%98%83/drain", OPERATOR, ""),
        404, "not_found", "runner"));
    cases.add(new Case("revoke a made-up token", () -> api.delete("/v1/orgs/" + orgA + "/tokens/..%2F..%2F", ownerA),
        404, "not_found", "token"));
    cases.add(new Case("delete a made-up webhook", () -> api.delete("/v1/orgs/" + orgA + "/webhooks/" + "w".repeat(10_000), ownerA),
        404, "not_found", "webhook"));
    cases.add(new Case("unknown path", () -> api.get("/v1/sessions/" + sessionA + "/../../../etc/passwd", alice),
        404, "not_found", "endpoint"));
    cases.add(new Case("published port nothing publishes", () -> api.get("/v1/sessions/" + sessionA + "/ports/8080", alice),
        404, "not_found", "8080"));
  }

  /** Another organisation's things look exactly like things that do not exist. */
  private static void otherOrganisations(List<Case> cases) {
    String b = "/v1/orgs/" + orgB;
    String sb = "/v1/sessions/" + sessionB;
    Object[][] foreign = {
        {"GET", sb, null, "session"}, {"DELETE", sb, null, "session"}, {"POST", sb + "/resume", null, "session"},
        {"GET", sb + "/diagnose", null, "session"}, {"GET", sb + "/events", null, "session"},
        {"GET", sb + "/tunnel", null, "session"}, {"GET", b, null, "organisation"},
        {"GET", b + "/settings", null, "organisation"}, {"PUT", b + "/settings", "{\"offloadEnabled\":false}", "organisation"},
        {"POST", b + "/tokens", "{\"user\":\"mallory\",\"role\":\"owner\"}", "organisation"},
        {"DELETE", b + "/tokens/" + tokenIdB, null, "organisation"}, {"GET", b + "/usage", null, "organisation"},
        {"GET", b + "/activity", null, "organisation"}, {"GET", b + "/audit", null, "organisation"},
        {"GET", b + "/webhooks", null, "organisation"}, {"DELETE", b + "/webhooks/" + webhookB, null, "organisation"},
        {"POST", b + "/grants", "{\"seconds\":100,\"kind\":\"committed\"}", "organisation"},
    };
    for (Object[] f : foreign) {
      Endpoint e = new Endpoint((String) f[0], (String) f[1], (String) f[2]);
      cases.add(new Case("organisation A's owner: " + e.method() + " " + e.path(), () -> send(e, ownerA, Map.of()),
          404, "not_found", (String) f[3]));
    }
    cases.add(new Case("revoke organisation B's token through organisation A",
        () -> api.delete("/v1/orgs/" + orgA + "/tokens/" + tokenIdB, ownerA), 404, "not_found", "token"));
    cases.add(new Case("delete organisation B's webhook through organisation A",
        () -> api.delete("/v1/orgs/" + orgA + "/webhooks/" + webhookB, ownerA), 404, "not_found", "webhook"));
    cases.add(new Case("a member reads another member's session", () -> api.get("/v1/sessions/" + sessionA, ownerB),
        404, "not_found", "session"));
  }

  private static void contentTypes(List<Case> cases) {
    String[] types = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/xml", "application/octet-stream"};
    for (String type : types) {
      cases.add(new Case("POST /v1/sessions as " + type, () -> api.send("POST", "/v1/sessions", alice, type, "{}"),
          415, "unsupported_media_type", "application/json"));
    }
    cases.add(new Case("PUT settings as text/plain", () -> api.send("PUT", "/v1/orgs/" + orgA + "/settings", ownerA,
        "text/plain", "{\"offloadEnabled\":false}"), 415, "unsupported_media_type", "application/json"));
    cases.add(new Case("POST orgs as form", () -> api.send("POST", "/v1/orgs", OPERATOR,
        "application/x-www-form-urlencoded", "id=never-created"), 415, "unsupported_media_type", "application/json"));
    cases.add(new Case("POST /v1/sessions with a body and no content type", () -> sendRaw(
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice
            + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"), 415, "unsupported_media_type", "application/json"));
  }

  /** Bodies, headers and URIs over the limits. */
  private static void sizes(List<Case> cases) {
    String big = "{\"labels\":{\"x\":\"" + "a".repeat(70_000) + "\"}}";
    cases.add(new Case("a 70 KB session request", () -> api.post("/v1/sessions", alice, big), 413, "payload_too_large", "65536"));
    cases.add(new Case("a 70 KB settings change", () -> api.put("/v1/orgs/" + orgA + "/settings", ownerA, big),
        413, "payload_too_large", "65536"));
    cases.add(new Case("a 9 MB body", () -> api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + "z".repeat(9_000_000) + "\"}"),
        413, "payload_too_large", "bytes"));
    cases.add(new Case("a 70 KB chunked body", () -> chunked("/v1/sessions", alice, big), 413, "payload_too_large", "65536"));
    cases.add(new Case("a 100 KB header", () -> sendRaw("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + alice + "\r\nX-Big: " + "h".repeat(100_000) + "\r\nConnection: close\r\n\r\n"), 431, "payload_too_large", "header"));
    cases.add(new Case("a 20 KB token header", () -> sendRaw("GET /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + "t".repeat(20_000) + "\r\nConnection: close\r\n\r\n"), 431, "payload_too_large", "header"));
    StringBuilder manyHeaders = new StringBuilder("GET /v1/sessions HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 200; i++) manyHeaders.append("X-H").append(i).append(": v\r\n");
    String headers = manyHeaders.append("Connection: close\r\n\r\n").toString();
    cases.add(new Case("200 headers", () -> sendRaw(headers), 400, "invalid_argument", "header"));
    cases.add(new Case("a 20 KB URI", () -> sendRaw("GET /v1/sessions/" + "u".repeat(20_000)
        + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 414, "payload_too_large", "URI"));
    cases.add(new Case("an unknown HTTP method", () -> sendRaw("HELLO /v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n"),
        400, "invalid_argument", "HTTP"));
    cases.add(new Case("a header without a colon", () -> sendRaw("GET /v1/sessions HTTP/1.1\r\nHost x\r\n\r\n"),
        400, "invalid_argument", "HTTP"));
    cases.add(new Case("HTTP/3.0", () -> sendRaw("GET /v1/sessions HTTP/3.0\r\nHost: x\r\n\r\n"),
        400, "invalid_argument", "HTTP"));
  }

  // ---- sending ----

  private static Response send(Endpoint e, String token, Map<String, String> headers) {
    HttpRequest.Builder b = api.request(e.path(), token).timeout(Duration.ofSeconds(20));
    if (e.body() != null) {
      b.header("Content-Type", "application/json").method(e.method(), HttpRequest.BodyPublishers.ofString(e.body()));
    } else {
      b.method(e.method(), HttpRequest.BodyPublishers.noBody());
    }
    headers.forEach(b::header);
    return send(b.build());
  }

  private static Response sendBytes(String method, String path, String token, byte[] body) {
    return send(api.request(path, token).header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  /** A body of unknown length, so only the streamed limit can stop it. */
  private static Response chunked(String path, String token, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return send(api.request(path, token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes))).build());
  }

  private static Response send(HttpRequest request) {
    try {
      HttpResponse<String> r = api.http().send(request, HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body(), r);
    } catch (IOException e) {
      throw new AssertionError("request failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * Bytes on a socket, for what an HTTP client library refuses to send. The answer is read until
   * the server closes, and only the status line and body are kept.
   */
  private static Response sendRaw(String request) {
    var address = server.server().address();
    try (Socket socket = new Socket(address.getHostString(), address.getPort())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      int n;
      try {
        while ((n = in.read(buffer)) >= 0) answer.write(buffer, 0, n);
      } catch (java.net.SocketException reset) {
        // The server may reset once it has answered an oversized request it will not read.
      }
      String text = answer.toString(StandardCharsets.UTF_8);
      int status = Integer.parseInt(text.substring(9, 12));
      int headerEnd = text.indexOf("\r\n\r\n");
      String head = text.substring(0, headerEnd).toLowerCase(Locale.ROOT);
      assertTrue(head.contains("content-type: application/json"), "JSON answer: " + text);
      return new Response(status, text.substring(headerEnd + 4), null);
    } catch (IOException e) {
      throw new AssertionError("raw request failed: " + e, e);
    }
  }
}
