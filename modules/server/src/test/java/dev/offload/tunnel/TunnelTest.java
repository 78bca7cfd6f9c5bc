package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tunnels over real WebSockets, through the local runner's SSH server, to a TCP engine. */
class TunnelTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EOF = "{\"type\":\"eof\"}";

  private static TestEngine engine;
  private static TestServer server;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    engine = TestEngine.tcp();
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"" + engine.target() + "\"",
        "offload.runners.classes.standard { provider = local, min-warm = 2, max = 12 }"));
    api = server.api();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    engine.close();
  }

  @Test
  void hundredMebibytesComeBackIdentical() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, false);

    MessageDigest expected = MessageDigest.getInstance("SHA-256");
    Random random = new Random(7);
    byte[] block = new byte[4 * 1024 * 1024];
    long total = 100L * 1024 * 1024;
    for (long sent = 0; sent < total; sent += block.length) {
      random.nextBytes(block);
      expected.update(block);
      client.send(block);
    }
    client.eof();
    expected.update(TestEngine.ANSWER);

    assertEquals(1000, client.closeCode.get(60, TimeUnit.SECONDS));
    assertEquals(total + TestEngine.ANSWER.length, client.received());
    assertArrayEquals(expected.digest(), client.digest(), "bytes came back in order, unchanged");
    assertEquals(List.of(EOF), client.texts());
    Await.until(Duration.ofSeconds(10), TunnelMetrics::open, open -> open == 0, "the tunnel to be gone");
    String metrics = api.get("/metrics", null).body();
    for (String name : List.of("offload_tunnels_open", "offload_tunnel_buffered_bytes",
        "offload_tunnel_bytes_total{direction=\"in\"}", "offload_tunnel_bytes_total{direction=\"out\"}",
        "offload_tunnel_open_duration_seconds_count")) {
      assertTrue(metrics.contains(name), name + " in " + metrics);
    }
  }

  @Test
  void messagesOverOneMebibyteAreRefused() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    client.send(new byte[10]);
    client.sendAsync(new byte[ClientMessages.MAX_MESSAGE + 1], 0, ClientMessages.MAX_MESSAGE + 1);
    assertEquals(1009, client.closeCode.get(30, TimeUnit.SECONDS));
    JsonNode error = JSON.readTree(client.texts().get(client.texts().size() - 1));
    assertEquals("payload_too_large", error.path("code").asText());
  }

  /** The CLI sends whole messages; other clients may fragment them, and those are read as streams. */
  @Test
  void aMessageSentInFragmentsArrivesWhole() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    byte[] data = new byte[300 * 1024];
    new Random(5).nextBytes(data);

    client.send("first".getBytes(StandardCharsets.US_ASCII));
    client.sendInFragments(data, 7);
    client.send("last".getBytes(StandardCharsets.US_ASCII));
    client.sendTextInFragments(EOF, 3);

    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes("first".getBytes(StandardCharsets.US_ASCII));
    expected.writeBytes(data);
    expected.writeBytes("last".getBytes(StandardCharsets.US_ASCII));
    expected.writeBytes(TestEngine.ANSWER);
    assertArrayEquals(expected.toByteArray(), client.bytes());
    assertEquals(List.of(EOF), client.texts());
  }

  @Test
  void aFragmentedMessageOverOneMebibyteIsRefused() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    client.sendInFragments(new byte[ClientMessages.MAX_MESSAGE + 1], 4);
    assertEquals(1009, client.closeCode.get(30, TimeUnit.SECONDS));
    JsonNode error = JSON.readTree(client.texts().get(client.texts().size() - 1));
    assertEquals("payload_too_large", error.path("code").asText());
  }

  @Test
  void bytesAfterTheClientsEofAreAProtocolError() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    client.eof();
    client.send("late".getBytes(StandardCharsets.US_ASCII));
    assertEquals(1008, client.closeCode.get(30, TimeUnit.SECONDS));
    JsonNode error = JSON.readTree(client.texts().get(client.texts().size() - 1));
    assertEquals("invalid_argument", error.path("code").asText());
  }

  @Test
  void aClientsErrorMessageEndsItsConnection() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    client.sendText("{\"type\":\"error\",\"message\":\"docker client went away\"}");
    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    assertEquals(List.of(), client.texts());
    Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions/" + session, token).json(),
        s -> s.path("openConnections").asInt() == 0, "the session to hear the connection closed");
  }

  @Test
  void halfCloseLetsTheEngineAnswerAfterTheClientsEof() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);

    client.send("ping".getBytes(StandardCharsets.US_ASCII));
    client.eof();

    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes("ping".getBytes(StandardCharsets.US_ASCII));
    expected.writeBytes(TestEngine.ANSWER);
    assertArrayEquals(expected.toByteArray(), client.bytes());
    assertEquals(List.of(EOF), client.texts(), "the engine's end is an eof control message");
  }

  @Test
  void refusalsBeforeTheUpgradeAreHttpErrors() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    String stranger = Tunnels.member(api);

    assertEquals(401, handshakeStatus(session, null));
    assertEquals(401, handshakeStatus(session, "not-a-token"));
    assertEquals(404, handshakeStatus(session, stranger));
    assertEquals(404, handshakeStatus("00000000-0000-0000-0000-000000000000", token));

    assertError(api.get("/v1/sessions/" + session + "/tunnel", null), 401, "unauthenticated");
    assertError(api.get("/v1/sessions/" + session + "/tunnel", stranger), 404, "not_found");
    assertError(api.get("/v1/sessions/" + session + "/tunnel", token), 400, "invalid_argument");
    assertEquals(0, api.get("/v1/sessions/" + session, token).json().path("openConnections").asInt());
  }

  @Test
  void garbageTextFramesCloseTheConnectionNotTheSession() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    for (String garbage : List.of("not json", "{\"type\":\"reboot\"}", "[1]", "{\"kind\":\"eof\"}")) {
      TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
      client.sendText(garbage);
      assertEquals(1008, client.closeCode.get(30, TimeUnit.SECONDS), garbage);
      JsonNode error = JSON.readTree(client.texts().get(0));
      assertEquals("error", error.path("type").asText());
      assertEquals("invalid_argument", error.path("code").asText());
      assertTrue(error.path("message").asText().length() > 10, error.toString());
    }
    Tunnels.awaitState(api, session, token, "active", "grace-period");
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    client.send("still here".getBytes(StandardCharsets.US_ASCII));
    client.eof();
    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    assertTrue(new String(client.bytes(), StandardCharsets.US_ASCII).startsWith("still here"));
  }

  @Test
  void aTerminatedSessionRefusesAfterTheUpgrade() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    assertEquals(200, api.delete("/v1/sessions/" + session, token).status());

    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);
    assertEquals(1008, client.closeCode.get(30, TimeUnit.SECONDS));
    JsonNode error = JSON.readTree(client.texts().get(0));
    assertEquals("error", error.path("type").asText());
    assertEquals("session_terminated", error.path("code").asText());
  }

  /**
   * A client that stops reading while the engine keeps answering: the server holds at most
   * {@link TunnelBridge#MAX_BUFFERED} bytes for it, and everything still arrives once it reads.
   */
  @Test
  void aSlowClientCostsTheServerBoundedMemory() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    TunnelClient client = TunnelClient.connect(server.server().url(), session, token, false);
    client.pause();

    byte[] data = new byte[64 * 1024 * 1024];
    new Random(11).nextBytes(data);
    CompletableFuture<?> sending = CompletableFuture.runAsync(() -> client.send(data));
    long[] most = {0};
    Await.until(Duration.ofSeconds(60), () -> {
      long now = TunnelMetrics.buffered();
      most[0] = Math.max(most[0], now);
      return now;
    }, now -> now >= EngineBacklog.CAPACITY / 2, "engine bytes to back up to the server");
    assertTrue(most[0] <= TunnelBridge.MAX_BUFFERED, "held " + most[0] + " bytes");
    assertTrue(client.received() < data.length, "the client has not read everything yet");

    client.resume();
    sending.get(60, TimeUnit.SECONDS);
    client.eof();
    assertEquals(1000, client.closeCode.get(60, TimeUnit.SECONDS));
    MessageDigest expected = MessageDigest.getInstance("SHA-256");
    expected.update(data);
    expected.update(TestEngine.ANSWER);
    assertArrayEquals(expected.digest(), client.digest());
    assertEquals(0, TunnelMetrics.buffered());
  }

  /** A client that gives up while its tunnel is being opened must not leave the session busy. */
  @Test
  void aClientThatLeavesDuringTheUpgradeLeavesNoConnectionBehind() throws Exception {
    Await.until(Duration.ofSeconds(10), TunnelMetrics::open, open -> open == 0, "earlier tunnels to end");
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 300);
    URI url = URI.create(server.server().url());
    try (Socket socket = new Socket(url.getHost(), url.getPort())) {
      socket.getOutputStream().write(String.join("\r\n",
          "GET /v1/sessions/" + session + "/tunnel HTTP/1.1",
          "Host: " + url.getHost() + ":" + url.getPort(),
          "Authorization: Bearer " + token,
          "Connection: Upgrade",
          "Upgrade: websocket",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "", "").getBytes(StandardCharsets.US_ASCII));
      socket.setSoLinger(true, 0); // reset, so the server cannot even answer
    }
    Await.until(Duration.ofSeconds(10), TunnelMetrics::open, open -> open == 1, "the tunnel to open");
    Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + session, token).json(),
        s -> s.path("openConnections").asInt() == 0, "the session to forget the connection");
    assertEquals(0, TunnelMetrics.open(), "the node forgot it too");
  }

  private static int handshakeStatus(String session, String token) throws Exception {
    ExecutionException failed = assertThrows(ExecutionException.class,
        () -> TunnelClient.connect(server.server().url(), session, token, false));
    assertTrue(failed.getCause() instanceof WebSocketHandshakeException, failed.toString());
    return ((WebSocketHandshakeException) failed.getCause()).getResponse().statusCode();
  }

  private static void assertError(Response r, int status, String code) {
    assertEquals(status, r.status(), r.body());
    assertEquals(code, r.errorCode(), r.body());
  }
}
