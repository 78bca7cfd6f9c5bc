package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.net.http.HttpClient;
import java.net.http.WebSocketHandshakeException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * quality.md "Bad input" on the tunnel: upgrades that must be refused before any upgrade (JSON,
 * with the status of api.md), and hostile traffic on an accepted tunnel, each closed with the
 * code and control message runners-and-tunnels.md gives. Afterwards the session still tunnels.
 */
class TunnelBadInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** One thread per attempt, so that all 1,000 are really in flight at once. */
  private static final java.util.concurrent.ExecutorService POOL = Executors.newCachedThreadPool();

  private static TestEngine engine;
  private static TestServer server;
  private static ApiClient api;
  private static String token;
  private static String session;
  private static String otherToken;
  private static String otherSession;
  private static String revoked;
  private static String terminated;
  private static String terminatedToken;

  @BeforeAll
  static void start() throws Exception {
    engine = TestEngine.tcp();
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"" + engine.target() + "\"",
        "offload.runners.classes.standard { provider = local, min-warm = 3, max = 4 }"));
    api = server.api();
    token = Tunnels.member(api);
    session = Tunnels.activeSession(api, token, 3600);
    otherToken = Tunnels.member(api);
    otherSession = Tunnels.activeSession(api, otherToken, 3600);
    String org = api.get("/v1/sessions/" + session, token).json().get("org").asText();
    Response issued = api.post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN, "{\"user\":\"gone\",\"role\":\"member\"}");
    revoked = issued.json().get("token").asText();
    assertEquals(204, api.delete("/v1/orgs/" + org + "/tokens/" + issued.json().get("id").asText(), TestServer.OPERATOR_TOKEN).status());
    terminatedToken = Tunnels.member(api);
    terminated = Tunnels.activeSession(api, terminatedToken, 3600);
    assertEquals(200, api.delete("/v1/sessions/" + terminated, terminatedToken).status());
  }

  @AfterAll
  static void stop() throws Exception {
    POOL.shutdownNow();
    server.close();
    engine.close();
  }

  /** An upgrade refused before it happens: status, code, and a hint in the message. */
  record Refused(String name, String request, int status, String code, String hint) {}

  /** Traffic on an accepted tunnel that must end it with {@code closeCode} and an error control message. */
  record Hostile(String name, Consumer<TunnelClient> traffic, int closeCode, String code, String hint) {}

  @TestFactory
  Stream<DynamicTest> refusedUpgrades() {
    List<Refused> cases = new ArrayList<>();
    String path = "/v1/sessions/" + session + "/tunnel";
    cases.add(new Refused("no token", upgrade(path, null), 401, "unauthenticated", "Bearer"));
    cases.add(new Refused("revoked token", upgrade(path, "Bearer " + revoked), 401, "unauthenticated", "revoked"));
    cases.add(new Refused("malformed token", upgrade(path, "Bearer not-a-token"), 401, "unauthenticated", "token"));
    cases.add(new Refused("Basic auth", upgrade(path, "Basic YTpi"), 401, "unauthenticated", "Bearer"));
    cases.add(new Refused("token in the query instead", upgrade(path + "?access_token=" + token, null), 401, "unauthenticated", "Bearer"));
    cases.add(new Refused("another organisation's session",
        upgrade("/v1/sessions/" + otherSession + "/tunnel", "Bearer " + token), 404, "not_found", "session"));
    cases.add(new Refused("a made-up session", upgrade("/v1/sessions/" + UUID.randomUUID() + "/tunnel", "Bearer " + token),
        404, "not_found", "session"));
    cases.add(new Refused("a traversal id", upgrade("/v1/sessions/..%2F..%2Fetc/tunnel", "Bearer " + token), 404, "not_found", "session"));
    cases.add(new Refused("a 10 KB id", upgrade("/v1/sessions/" + "s".repeat(10_000) + "/tunnel", "Bearer " + token),
        404, "not_found", "session"));
    cases.add(new Refused("no Upgrade header", "GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n",
        400, "invalid_argument", "Upgrade"));
    cases.add(new Refused("an unsupported WebSocket version", upgrade(path, "Bearer " + token).replace("Version: 13", "Version: 7"),
        400, "invalid_argument", "Upgrade"));
    cases.add(new Refused("an upgrade with POST", upgrade(path, "Bearer " + token).replaceFirst("^GET", "POST"),
        405, "method_not_allowed", "GET"));
    cases.add(new Refused("an upgrade to an unknown endpoint", upgrade("/v1/sessions/" + session + "/tunnels", "Bearer " + token),
        404, "not_found", "endpoint"));
    cases.add(new Refused("an upgrade to ports nothing publishes", upgrade("/v1/sessions/" + session + "/ports/2375", "Bearer " + token),
        404, "not_found", "2375"));
    return cases.stream().map(c -> dynamicTest(c.name(), () -> {
      RawAnswer answer = raw(c.request());
      assertEquals(c.status(), answer.status(), c.name() + ": " + answer.body());
      assertTrue(answer.head().contains("content-type: application/json"), answer.head());
      JsonNode error = JSON.readTree(answer.body()).path("error");
      assertEquals(c.code(), error.path("code").asText(), answer.body());
      assertTrue(error.path("message").asText().toLowerCase(Locale.ROOT).contains(c.hint().toLowerCase(Locale.ROOT)),
          c.name() + ": the message names what to change: " + answer.body());
    }));
  }

  @TestFactory
  Stream<DynamicTest> hostileTrafficEndsOnlyItsOwnConnection() {
    List<Hostile> cases = new ArrayList<>();
    cases.add(new Hostile("text that is not JSON", c -> c.sendText("hello engine"), 1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("an unknown control message", c -> c.sendText("{\"type\":\"reboot\"}"), 1008, "invalid_argument", "eof or error"));
    cases.add(new Hostile("a control message without a type", c -> c.sendText("{}"), 1008, "invalid_argument", "type"));
    cases.add(new Hostile("a numeric type", c -> c.sendText("{\"type\":5}"), 1008, "invalid_argument", "type"));
    cases.add(new Hostile("a JSON array", c -> c.sendText("[\"eof\"]"), 1008, "invalid_argument", "type"));
    cases.add(new Hostile("JSON null", c -> c.sendText("null"), 1008, "invalid_argument", "type"));
    cases.add(new Hostile("an empty text frame", c -> c.sendText(""), 1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("half a control message", c -> c.sendText("{\"type\":\"eo"), 1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("a control message with trailing garbage", c -> c.sendText("{\"type\":\"eof\"} rm -rf"),
        1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("500,000 nested arrays", c -> c.sendText("[".repeat(500_000)), 1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("200,000 nested objects", c -> c.sendText("{\"a\":".repeat(200_000)), 1008, "invalid_argument", "JSON"));
    cases.add(new Hostile("a text frame over 1 MiB", c -> c.sendText("x".repeat(ClientMessages.MAX_MESSAGE + 1)),
        1009, "payload_too_large", "MiB"));
    cases.add(new Hostile("a binary frame over 1 MiB", c -> c.sendAsync(new byte[4 * ClientMessages.MAX_MESSAGE], 0,
        4 * ClientMessages.MAX_MESSAGE), 1009, "payload_too_large", "MiB"));
    cases.add(new Hostile("bytes after eof", c -> {
      c.eof();
      c.send("late".getBytes(StandardCharsets.US_ASCII));
    }, 1008, "invalid_argument", "eof"));
    List<DynamicTest> tests = new ArrayList<>();
    for (Hostile h : cases) {
      tests.add(dynamicTest(h.name(), () -> {
        TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
        h.traffic().accept(client);
        assertEquals(h.closeCode(), client.closeCode.get(30, TimeUnit.SECONDS), h.name() + ": " + client.texts());
        JsonNode error = JSON.readTree(client.texts().get(client.texts().size() - 1));
        assertEquals("error", error.path("type").asText());
        assertEquals(h.code(), error.path("code").asText(), error.toString());
        assertTrue(error.path("message").asText().toLowerCase(Locale.ROOT).contains(h.hint().toLowerCase(Locale.ROOT)),
            h.name() + ": the message names what to change: " + error);
      }));
    }
    tests.add(dynamicTest("the session forgot every closed connection and still tunnels", TunnelBadInputTest::stillTunnels));
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> aTerminatedSessionRefusesAfterTheUpgrade() {
    return Stream.of(dynamicTest("terminated", () -> {
      TunnelClient client = TunnelClient.connect(server.server().url(), terminated, terminatedToken, true);
      assertEquals(1008, client.closeCode.get(30, TimeUnit.SECONDS));
      JsonNode error = JSON.readTree(client.texts().get(0));
      assertEquals("session_terminated", error.path("code").asText());
      assertTrue(error.path("message").asText().contains("offload start"), error.toString());
    }));
  }

  /**
   * A client opening 1,000 tunnels to one session at once: the node admits its per-session cap,
   * refuses the rest at once with 429 before any upgrade, keeps answering, and forgets all of them
   * once they close.
   */
  @Test
  void aThousandTunnelsAtOnceAreCappedPerSession() throws Exception {
    String mine = Tunnels.member(api);
    String busy = Tunnels.activeSession(api, mine, 3600);
    HttpClient http = HttpClient.newHttpClient();
    List<CompletableFuture<Object>> attempts = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      attempts.add(CompletableFuture.supplyAsync(() -> {
        try {
          // The node answers all 1,000 handshakes; on a busy 2-core machine that takes a while.
          return TunnelClient.connect(http, server.server().url(), busy, mine, false, Duration.ofSeconds(90));
        } catch (ExecutionException e) {
          return e.getCause();
        } catch (Exception e) {
          return e;
        }
      }, POOL));
    }
    List<TunnelClient> open = new ArrayList<>();
    Map<String, Integer> refused = new TreeMap<>();
    for (CompletableFuture<Object> attempt : attempts) {
      Object outcome = attempt.get(180, TimeUnit.SECONDS);
      if (outcome instanceof TunnelClient client) {
        open.add(client);
      } else if (outcome instanceof WebSocketHandshakeException handshake) {
        assertEquals("5", handshake.getResponse().headers().firstValue("Retry-After").orElse(null));
        refused.merge(String.valueOf(handshake.getResponse().statusCode()), 1, Integer::sum);
      } else {
        refused.merge(String.valueOf(outcome), 1, Integer::sum);
      }
    }
    assertEquals(100, open.size(), "the cap of offload.tunnel.max-per-session is admitted; refused: " + refused);
    assertEquals(Map.of("429", 900), refused);
    Response meanwhile = api.get("/v1/sessions/" + busy, mine);
    assertEquals(200, meanwhile.status());
    assertEquals(100, meanwhile.json().get("openConnections").asInt());
    for (TunnelClient client : open) client.eof();
    for (TunnelClient client : open) assertEquals(1000, client.closeCode.get(60, TimeUnit.SECONDS));
    Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + busy, mine).json(),
        s -> s.path("openConnections").asInt() == 0, "every connection closed for the session");
    TunnelClient again = TunnelClient.connect(server.server().url(), busy, mine, true);
    again.eof();
    assertEquals(1000, again.closeCode.get(30, TimeUnit.SECONDS), "the session admits new connections again");
  }

  private static void stillTunnels() throws Exception {
    Await.until(Duration.ofSeconds(15), () -> api.get("/v1/sessions/" + session, token).json(),
        s -> s.path("openConnections").asInt() == 0, "every refused connection to be closed for the session");
    Await.until(Duration.ofSeconds(15), TunnelMetrics::open, open -> open == 0, "no bridge left open on the node");
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    byte[] hello = "still here".getBytes(StandardCharsets.US_ASCII);
    client.send(hello);
    client.eof();
    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(hello);
    expected.write(TestEngine.ANSWER);
    assertArrayEquals(expected.toByteArray(), client.bytes());
    assertFalse(api.get("/v1/sessions/" + session, token).json().path("state").asText().equals("terminated"));
  }

  // ---- raw upgrades ----

  private static String upgrade(String path, String authorization) {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (authorization == null ? "" : "Authorization: " + authorization + "\r\n") + "\r\n";
  }

  record RawAnswer(int status, String head, String body) {}

  /** One request on a socket; reads the head and a body of Content-Length bytes. */
  private static RawAnswer raw(String request) throws IOException {
    var address = server.server().address();
    try (Socket socket = new Socket(address.getHostString(), address.getPort())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) break;
        head.write(b);
      }
      String headText = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
      int length = 0;
      for (String line : headText.split("\r\n")) {
        if (line.startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
      }
      byte[] body = in.readNBytes(length);
      return new RawAnswer(Integer.parseInt(headText.substring(9, 12)), headText, new String(body, StandardCharsets.UTF_8));
    }
  }
}
