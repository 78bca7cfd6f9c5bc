package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The bridge against a server speaking the tunnel protocol: bytes, half-closes and refusals. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LocalBridgeTest {
  private static final String TOKEN = "tok-1";
  private static final String EOF = "{\"type\":\"eof\"}";

  private final List<String> problems = new CopyOnWriteArrayList<>();
  private TunnelServer server;
  private LocalBridge bridge;

  /** Binary frames back as they came; an eof answered by an eof once everything is echoed. */
  private static void echo(TunnelServer.Peer peer, int connection) throws IOException {
    for (TunnelServer.Message m = peer.receive(); m.opcode() != 8; m = peer.receive()) {
      if (m.opcode() == 2) peer.sendBinary(m.data());
      else if (m.isEof()) peer.sendText(EOF);
    }
    peer.close(1000, "");
  }

  private int start(String token, TunnelServer.Behaviour behaviour) {
    server = new TunnelServer(TOKEN, behaviour);
    bridge = new LocalBridge(new ApiClient(server.url(), token, null), "s-1", 0, problems::add);
    Thread serve = new Thread(bridge::serve, "bridge");
    serve.setDaemon(true);
    serve.start();
    return bridge.port();
  }

  @AfterEach
  void stop() throws IOException {
    if (bridge != null) bridge.close();
    if (server != null) server.close();
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(30_000);
    return socket;
  }

  @Test
  void tenMebibytesComeBackIdentically() throws Exception {
    int port = start(TOKEN, LocalBridgeTest::echo);
    byte[] sent = new byte[10 * 1024 * 1024];
    new Random(42).nextBytes(sent);
    try (Socket client = connect(port)) {
      CompletableFuture<Void> upload = CompletableFuture.runAsync(() -> {
        try {
          OutputStream out = client.getOutputStream();
          for (int offset = 0; offset < sent.length; offset += 100_000) {
            out.write(sent, offset, Math.min(100_000, sent.length - offset));
          }
          client.shutdownOutput();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      });
      byte[] received = client.getInputStream().readAllBytes();
      upload.get(30, TimeUnit.SECONDS);
      assertEquals(sent.length, received.length, this::diagnostics);
      assertArrayEquals(sent, received);
    }
    assertEquals(List.of("GET /v1/sessions/s-1/tunnel HTTP/1.1"), server.upgrades);
    assertEquals(List.of(), problems);
    assertEquals(List.of(), server.failures);
  }

  @Test
  void manyConnectionsAtOnceEachGetTheirOwnBytes() throws Exception {
    int port = start(TOKEN, LocalBridgeTest::echo);
    List<CompletableFuture<Void>> clients = new java.util.ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    for (int i = 0; i < 16; i++) {
      byte[] sent = new byte[256 * 1024];
      new Random(i).nextBytes(sent);
      clients.add(CompletableFuture.runAsync(() -> {
        try (Socket client = connect(port)) {
          CompletableFuture<Void> upload = CompletableFuture.runAsync(() -> {
            try {
              client.getOutputStream().write(sent);
              client.shutdownOutput();
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          });
          assertArrayEquals(sent, client.getInputStream().readAllBytes(), this::diagnostics);
          upload.join();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }, pool));
    }
    try {
      CompletableFuture.allOf(clients.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    assertEquals(16, server.upgrades.size());
    assertEquals(List.of(), problems);
  }

  @Test
  void aFrameOfOneMebibyteFromTheServerArrivesWhole() throws Exception {
    byte[] frame = new byte[1024 * 1024];
    new Random(7).nextBytes(frame);
    int port = start(TOKEN, (peer, connection) -> {
      peer.sendBinary(frame);
      peer.sendText(EOF);
      for (TunnelServer.Message m = peer.receive(); m.opcode() != 8; m = peer.receive()) {
        assertTrue(m.isEof(), "only the client's eof follows");
      }
      peer.close(1000, "");
    });
    try (Socket client = connect(port)) {
      assertArrayEquals(frame, client.getInputStream().readAllBytes(), this::diagnostics);
      client.shutdownOutput();
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void aLocalHalfCloseReachesTheServerAndItsAnswerStillArrives() throws Exception {
    CompletableFuture<String> serverGot = new CompletableFuture<>();
    int port = start(TOKEN, (peer, connection) -> {
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      for (TunnelServer.Message m = peer.receive(); !m.isEof(); m = peer.receive()) got.write(m.data());
      serverGot.complete(got.toString(StandardCharsets.UTF_8));
      // The engine answers after the client's half-close, as it does for docker run -i.
      peer.sendBinary("answer after your eof".getBytes(StandardCharsets.UTF_8));
      peer.sendText(EOF);
      for (TunnelServer.Message m = peer.receive(); m.opcode() != 8; m = peer.receive()) {
        fail("nothing may follow an eof, got opcode " + m.opcode());
      }
      peer.close(1000, "");
    });
    try (Socket client = connect(port)) {
      client.getOutputStream().write("input, then end of input".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertEquals("input, then end of input", serverGot.get(30, TimeUnit.SECONDS));
      assertEquals("answer after your eof", new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void aServerHalfCloseEndsLocalInputWhileTheClientKeepsWriting() throws Exception {
    CompletableFuture<String> serverGot = new CompletableFuture<>();
    int port = start(TOKEN, (peer, connection) -> {
      peer.sendBinary("all the engine had to say".getBytes(StandardCharsets.UTF_8));
      peer.sendText(EOF);
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      for (TunnelServer.Message m = peer.receive(); !m.isEof(); m = peer.receive()) got.write(m.data());
      serverGot.complete(got.toString(StandardCharsets.UTF_8));
      peer.receive();
      peer.close(1000, "");
    });
    try (Socket client = connect(port)) {
      InputStream in = client.getInputStream();
      assertEquals("all the engine had to say", new String(in.readAllBytes(), StandardCharsets.UTF_8),
          "the server's eof ends the local input");
      client.getOutputStream().write("the client still writes".getBytes(StandardCharsets.UTF_8));
      client.shutdownOutput();
      assertEquals("the client still writes", serverGot.get(30, TimeUnit.SECONDS));
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void aSessionNotReadyClosesTheConnectionWithOneLine() throws Exception {
    int port = start(TOKEN, (peer, connection) -> {
      peer.sendText("{\"type\":\"error\",\"code\":\"session_not_ready\",\"message\":\"session s-1 is still provisioning\"}");
      peer.close(1013, "session_not_ready");
    });
    try (Socket client = connect(port)) {
      assertEquals(-1, readOrReset(client.getInputStream()));
    }
    Await.until(Duration.ofSeconds(10), () -> !problems.isEmpty(), problems::toString);
    assertEquals(List.of("session s-1 is still provisioning: the session is still starting; retry in a moment"), problems);
  }

  @Test
  void aRefusedTokenSaysToLogInAgain() throws Exception {
    int port = start("wrong-token", LocalBridgeTest::echo);
    try (Socket client = connect(port)) {
      assertEquals(-1, readOrReset(client.getInputStream()));
    }
    Await.until(Duration.ofSeconds(10), () -> !problems.isEmpty(), problems::toString);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).contains("HTTP 401") && problems.get(0).contains("offload login"), problems.toString());
  }

  @Test
  void aDroppedTunnelOnlyEndsItsConnectionAndTheNextOneWorks() throws Exception {
    int port = start(TOKEN, (peer, connection) -> {
      if (connection == 0) peer.drop();
      else echo(peer, connection);
    });
    try (Socket first = connect(port)) {
      assertEquals(-1, readOrReset(first.getInputStream()));
    }
    try (Socket second = connect(port)) {
      second.getOutputStream().write("again".getBytes(StandardCharsets.UTF_8));
      second.shutdownOutput();
      assertEquals("again", new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8), this::diagnostics);
    }
    assertEquals(2, server.upgrades.size());
    assertEquals(List.of("the tunnel to session s-1 closed unexpectedly (code 1006); the next connection opens a new one"),
        problems);
  }

  private String diagnostics() {
    return "bridge problems " + problems + ", server failures " + server.failures;
  }

  /** The end of a closed connection: -1, or a reset when the bridge closed with bytes unread. */
  private static int readOrReset(InputStream in) {
    try {
      return in.read();
    } catch (IOException reset) {
      return -1;
    }
  }
}
