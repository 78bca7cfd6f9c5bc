package dev.offload.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * quality.md's resource limits over real HTTP: the per-token rate limit, the organisation's cap
 * on live sessions under concurrent starts, and slow clients (a trickled body, a connection that
 * sends nothing). Body, header and URI limits are in {@link BadInputBatteryTest}, tunnel
 * connections per session in {@code TunnelBadInputTest}.
 */
class LimitsTest {
  private static final String OPERATOR = TestServer.OPERATOR_TOKEN;
  private static TestServer server;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start(String.join("\n",
        "offload.runners.classes.standard { provider = local, min-warm = 2, max = 2 }",
        "offload.http.rate-limit { requests-per-second = 10, burst = 20 }",
        "offload.http.body-timeout = 1s",
        "akka.http.server.idle-timeout = 5s"));
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String newOrg() {
    String id = "org-" + UUID.randomUUID().toString().substring(0, 8);
    assertEquals(201, api.post("/v1/orgs", OPERATOR, "{\"id\":\"" + id + "\"}").status());
    return id;
  }

  private static String token(String org, String user, String role) {
    Response r = api.post("/v1/orgs/" + org + "/tokens", OPERATOR, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    return r.json().get("token").asText();
  }

  @Test
  void aTokenOverItsRateGets429WithRetryAfterAndOthersAreNotSlowed() throws Exception {
    String org = newOrg();
    String greedy = token(org, "greedy", "member");
    String other = token(org, "other", "member");
    List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      burst.add(api.http().sendAsync(api.request("/v1/sessions", greedy).GET().build(), HttpResponse.BodyHandlers.ofString()));
    }
    Map<Integer, Integer> statuses = new TreeMap<>();
    HttpResponse<String> limited = null;
    for (var f : burst) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      statuses.merge(r.statusCode(), 1, Integer::sum);
      if (r.statusCode() == 429) limited = r;
    }
    assertTrue(statuses.getOrDefault(200, 0) >= 20, "the burst is served: " + statuses);
    assertTrue(statuses.getOrDefault(429, 0) > 0, "the rest is limited: " + statuses);
    assertEquals(2, statuses.size(), "nothing but 200 and 429: " + statuses);
    Response r = new Response(limited.statusCode(), limited.body(), limited);
    assertEquals("rate_limited", r.errorCode());
    assertTrue(r.errorMessage().contains("Retry-After"), r.errorMessage());
    int retryAfter = Integer.parseInt(limited.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter >= 1 && retryAfter <= 2, "whole seconds until a request is allowed: " + retryAfter);

    assertEquals(200, api.get("/v1/sessions", other).status(), "another token has its own bucket");
    Response refusedStart = api.post("/v1/sessions", greedy, "{}");
    if (refusedStart.status() == 429) {
      assertEquals(0, server.count("SELECT count(*) FROM sessions WHERE org = '" + org + "'"), "a limited start starts nothing");
    }
    Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions", greedy).status(), s -> s == 200,
        "the token to be served again once its bucket refills");
  }

  @Test
  void concurrentStartsOfManyUsersNeverExceedTheOrganisationsCap() throws Exception {
    String org = newOrg();
    String owner = token(org, "owner", "owner");
    assertEquals(200, api.put("/v1/orgs/" + org + "/settings", owner, "{\"maxLiveSessions\": 2}").status());
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 6; i++) members.add(token(org, "m" + i, "member"));
    List<CompletableFuture<HttpResponse<String>>> starts = new ArrayList<>();
    for (String member : members) {
      starts.add(api.http().sendAsync(api.request("/v1/sessions", member).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()));
    }
    int created = 0;
    for (var f : starts) {
      HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
      if (r.statusCode() == 201) {
        created++;
      } else {
        Response refused = new Response(r.statusCode(), r.body(), r);
        assertEquals(409, r.statusCode(), r.body());
        assertEquals("conflict", refused.errorCode());
        assertTrue(refused.errorMessage().contains("maxLiveSessions"), refused.errorMessage());
      }
    }
    assertEquals(2, created, "exactly the cap is started");
    assertEquals(2, server.count("SELECT count(*) FROM sessions WHERE org = '" + org + "'"), "refused starts left nothing");
  }

  @Test
  void aBodyThatTricklesInIsRefusedAfterTheBodyTimeout() throws Exception {
    String member = token(newOrg(), "slow", "member");
    var address = server.server().address();
    long started = System.nanoTime();
    try (Socket socket = new Socket(address.getHostString(), address.getPort())) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + member
          + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"labels\"").getBytes(StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      String answer = readAnswer(socket.getInputStream());
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertTrue(answer.contains("\"code\":\"invalid_argument\""), answer);
      assertTrue(answer.contains("did not arrive within 1.0 s"), answer);
    }
    assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(10)) < 0, "answered promptly");
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAfterTheIdleTimeout() throws Exception {
    var address = server.server().address();
    long started = System.nanoTime();
    try (Socket socket = new Socket(address.getHostString(), address.getPort())) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write("GET /v1/sess".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      int read;
      try {
        read = socket.getInputStream().read();
      } catch (SocketException reset) {
        read = -1;
      }
      assertEquals(-1, read, "the server closed the connection");
    }
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertTrue(took.compareTo(Duration.ofSeconds(4)) > 0 && took.compareTo(Duration.ofSeconds(20)) < 0,
        "closed by akka.http.server.idle-timeout (5 s), after " + took);
  }

  /** The status line, headers and a Content-Length body. */
  private static String readAnswer(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) break;
      head.write(b);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
    }
    return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }
}
