package dev.offload.cli;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Bytes through the whole tunnel, every hop a real one: a TCP client on the port {@code offload
 * start --detach} printed, the detached bridge's WebSocket to {@code bin/offload-server}, the SSH
 * channel of a local runner, and an echo server in this JVM standing in for the Docker engine.
 * The echo server answers end of input with a trailer before it closes, so a half-close that gets
 * lost on the way shows up as a missing trailer rather than as a hang.
 */
class TunnelEndToEndIT {
  private static final int PAYLOAD = 100 * 1024 * 1024;
  private static final int CHUNK = 64 * 1024;
  private static final byte[] TRAILER = "bye\n".getBytes(US_ASCII);
  /** Longest silence any single read may meet before the tunnel counts as stalled. */
  private static final Duration STALL = Duration.ofSeconds(30);
  private static final Pattern DOCKER_HOST = Pattern.compile("export DOCKER_HOST=tcp://127\\.0\\.0\\.1:(\\d+)");

  @Test
  void bytesCrossTheTunnelBothWaysAndHalfClosesReachTheEngine() throws Exception {
    Path home = Files.createTempDirectory("offload-tunnel-home");
    Map<String, String> env = Map.of(
        "XDG_CONFIG_HOME", home.resolve("config").toString(),
        "DOCKER_CONFIG", home.resolve("docker").toString());
    ConfigStore store = new ConfigStore(home.resolve("config/offload"));
    try (EchoEngine engine = EchoEngine.start();
        OffloadProcesses server = OffloadProcesses.startServer(
            Map.of("OFFLOAD_LOCAL_ENGINE", "tcp://127.0.0.1:" + engine.port()), TunnelEndToEndIT::fakeDocker)) {
      try {
        scenario(env, store, server, engine);
      } catch (Throwable failure) {
        throw new AssertionError(failure + "\n--- engine\n" + engine.events() + "\n--- bridge log\n"
            + readIfExists(store.logFile()) + "\n--- server log\n" + server.output(), failure);
      } finally {
        // A failed run must not leave the detached bridge behind.
        BackgroundBridge.running(store).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  private static void scenario(Map<String, String> env, ConfigStore store, OffloadProcesses server, EchoEngine engine)
      throws Exception {
    Cli.Run login = OffloadProcesses.offload(env, "login", "--server", server.url(), "--token", server.devToken());
    assertEquals(0, login.exit(), login.toString());

    Cli.Run start = OffloadProcesses.offload(env, "start", "--detach", "--idle-timeout", "2m");
    assertEquals(0, start.exit(), start.toString());
    Matcher printed = DOCKER_HOST.matcher(start.out());
    assertTrue(printed.find(), "start prints DOCKER_HOST: " + start);
    int port = Integer.parseInt(printed.group(1));
    String session = store.state().orElseThrow().session();
    Api api = new Api(server.url(), server.devToken());

    long began = System.nanoTime();
    exchange(port, PAYLOAD);
    double seconds = (System.nanoTime() - began) / 1e9;
    System.out.printf("tunnel: %d MiB each way at once in %.2f s (%.1f MiB/s each way)%n",
        PAYLOAD >> 20, seconds, (PAYLOAD >> 20) / seconds);

    halfClose(port, "a request, then end of input\n".getBytes(US_ASCII));
    engineHalfClosesFirst(port, engine);

    try (Socket held = connect(port)) {
      byte[] ping = "ping\n".getBytes(US_ASCII);
      held.getOutputStream().write(ping);
      assertArrayEquals(ping, held.getInputStream().readNBytes(ping.length), "a held connection echoes");
      JsonNode open = api.awaitSession(session,
          s -> s.path("state").asText().equals("active") && s.path("openConnections").asInt() >= 1);
      assertTrue(open.path("openConnections").asInt() >= 1, open.toString());
    }

    ConfigStore.BridgeState bridge = store.state().orElseThrow();
    Cli.Run stop = OffloadProcesses.offload(env, "stop");
    assertEquals(0, stop.exit(), stop.toString());
    assertTrue(stop.out().contains("Session " + session + " terminated (stopped); bridge stopped"), stop.toString());
    assertFalse(ProcessHandle.of(bridge.pid()).map(ProcessHandle::isAlive).orElse(false), "the bridge process ended");
    assertFalse(LocalBridge.listening(port), "nothing listens on the bridge's port any more");
    JsonNode ended = api.session(session);
    assertEquals("terminated", ended.path("state").asText(), ended.toString());
    assertEquals("stopped", ended.path("terminationReason").asText(), ended.toString());
    assertEquals(0, ended.path("openConnections").asInt(), ended.toString());
  }

  /**
   * Writes {@code size} pseudo-random bytes from one thread while this one reads the echo, so
   * both directions are full at once; then half-closes and expects the trailer after the echo.
   */
  private static void exchange(int port, int size) throws Exception {
    try (Socket socket = connect(port)) {
      MessageDigest sent = sha256();
      CompletableFuture<Void> writer = new CompletableFuture<>();
      Thread writing = new Thread(() -> {
        try {
          OutputStream out = socket.getOutputStream();
          SplittableRandom random = new SplittableRandom(42);
          byte[] chunk = new byte[CHUNK];
          for (int written = 0; written < size; written += chunk.length) {
            random.nextBytes(chunk);
            sent.update(chunk);
            out.write(chunk);
          }
          socket.shutdownOutput();
          writer.complete(null);
        } catch (Throwable e) {
          writer.completeExceptionally(e);
        }
      }, "tunnel-test-writer");
      writing.setDaemon(true);
      writing.start();

      MessageDigest received = sha256();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[CHUNK];
      long got = 0;
      while (got < size) {
        int n = readOrExplain(in, buffer, (int) Math.min(buffer.length, size - got), got);
        if (n < 0) fail("the echo ended after " + got + " of " + size + " bytes");
        received.update(buffer, 0, n);
        got += n;
      }
      writer.get(STALL.toSeconds(), TimeUnit.SECONDS);
      assertEquals(HexFormat.of().formatHex(sent.digest()), HexFormat.of().formatHex(received.digest()),
          "SHA-256 of the echo equals that of what was sent");
      assertEquals(new String(TRAILER, US_ASCII), new String(in.readAllBytes(), US_ASCII),
          "after the echo: the engine's answer to end of input, then end of stream");
    }
  }

  /** The engine sees end of input while the connection still carries its answer back. */
  private static void halfClose(int port, byte[] request) throws IOException {
    try (Socket socket = connect(port)) {
      socket.getOutputStream().write(request);
      socket.shutdownOutput();
      byte[] answer;
      try {
        answer = socket.getInputStream().readAllBytes();
      } catch (SocketTimeoutException e) {
        throw new AssertionError("no end of stream " + STALL.toSeconds()
            + " s after the half-close: the engine never saw end of input, or its answer was lost", e);
      }
      assertEquals(new String(request, US_ASCII) + new String(TRAILER, US_ASCII), new String(answer, US_ASCII),
          "the echo, then the engine's answer to end of input");
    }
  }

  /**
   * The other way round, as when an attached container's output ends before its input: the client
   * reads the engine's bytes and end of stream, and what it sends afterwards still arrives.
   */
  private static void engineHalfClosesFirst(int port, EchoEngine engine) throws Exception {
    CompletableFuture<byte[]> heard = engine.speakFirstNext();
    try (Socket socket = connect(port)) {
      assertEquals(new String(TRAILER, US_ASCII), new String(socket.getInputStream().readAllBytes(), US_ASCII),
          "the engine's bytes, then end of stream while the connection stays open for the client's");
      byte[] late = "sent after the engine's end of output".getBytes(US_ASCII);
      socket.getOutputStream().write(late);
      socket.shutdownOutput();
      assertEquals(new String(late, US_ASCII), new String(heard.get(STALL.toSeconds(), TimeUnit.SECONDS), US_ASCII),
          "the engine hears the client after it ended its own output");
      assertEquals(-1, socket.getInputStream().read(), "then the connection ends");
    }
  }

  private static int readOrExplain(InputStream in, byte[] buffer, int length, long got) throws IOException {
    try {
      return in.read(buffer, 0, length);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the echo stalled for " + STALL.toSeconds() + " s after " + got + " bytes", e);
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
    socket.setSoTimeout(Math.toIntExact(STALL.toMillis()));
    return socket;
  }

  /**
   * A {@code docker} first on the local runners' PATH, so their health and wipe commands succeed
   * and container tracking finds no containers without a Docker engine on this machine.
   * {@code docker events} waits for its channel to close, as the real one does.
   */
  private static void fakeDocker(Path dataDir) throws IOException {
    Path bin = Files.createDirectories(dataDir.resolve("runners/bin"));
    Path docker = bin.resolve("docker");
    Files.writeString(docker, """
        #!/bin/sh
        case "$1" in
          events) exec cat >/dev/null ;;
          info) echo 27.0.0-fake ;;
        esac
        exit 0
        """);
    Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String readIfExists(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "(none at " + file + ")";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The session API as a script would call it, with the developer's token. */
  private record Api(String server, String token) {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    JsonNode session(String id) throws IOException, InterruptedException {
      HttpResponse<String> response = HTTP.send(
          HttpRequest.newBuilder(URI.create(server + "/v1/sessions/" + id))
              .header("Authorization", "Bearer " + token)
              .timeout(Duration.ofSeconds(10))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return ConfigStore.JSON.readTree(response.body());
    }

    JsonNode awaitSession(String id, Predicate<JsonNode> condition) {
      AtomicReference<JsonNode> last = new AtomicReference<>();
      Await.until(Duration.ofSeconds(15), () -> {
        try {
          last.set(session(id));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
        return condition.test(last.get());
      }, () -> String.valueOf(last.get()));
      return last.get();
    }
  }

  /**
   * The engine stand-in: echoes every byte, and on end of input writes {@link #TRAILER} and
   * closes its side; or, for a connection after {@link #speakFirstNext}, writes the trailer at once,
   * ends its output and only listens. Each connection gets its own thread, as blocking I/O must.
   */
  private static final class EchoEngine implements AutoCloseable {
    private final ServerSocket listener;
    private final AtomicInteger connections = new AtomicInteger();
    private final Queue<String> events = new ConcurrentLinkedQueue<>();
    private final AtomicReference<CompletableFuture<byte[]>> speakFirst = new AtomicReference<>();

    private EchoEngine(ServerSocket listener) {
      this.listener = listener;
    }

    static EchoEngine start() throws IOException {
      ServerSocket listener = new ServerSocket();
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      EchoEngine engine = new EchoEngine(listener);
      daemon("echo-engine-accept", engine::accept);
      return engine;
    }

    int port() {
      return listener.getLocalPort();
    }

    /** The next connection hears what the returned future completes with. */
    CompletableFuture<byte[]> speakFirstNext() {
      CompletableFuture<byte[]> heard = new CompletableFuture<>();
      speakFirst.set(heard);
      return heard;
    }

    String events() {
      return String.join("\n", events);
    }

    private void accept() {
      while (!listener.isClosed()) {
        try {
          Socket socket = listener.accept();
          int n = connections.incrementAndGet();
          CompletableFuture<byte[]> listenOnly = speakFirst.getAndSet(null);
          daemon("echo-engine-" + n, () -> {
            if (listenOnly == null) echo(n, socket);
            else speakFirst(n, socket, listenOnly);
          });
        } catch (IOException closed) {
          return;
        }
      }
    }

    private void echo(int n, Socket socket) {
      long bytes = 0;
      try (socket) {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[CHUNK];
        for (int read; (read = in.read(buffer)) >= 0; bytes += read) {
          out.write(buffer, 0, read);
        }
        out.write(TRAILER);
        socket.shutdownOutput();
        events.add("connection " + n + ": end of input after " + bytes + " bytes, trailer sent");
      } catch (IOException e) {
        events.add("connection " + n + ": " + e + " after " + bytes + " bytes");
      }
    }

    private void speakFirst(int n, Socket socket, CompletableFuture<byte[]> heard) {
      try (socket) {
        socket.getOutputStream().write(TRAILER);
        socket.shutdownOutput();
        byte[] read = socket.getInputStream().readAllBytes();
        events.add("connection " + n + ": spoke first, then heard " + read.length + " bytes");
        heard.complete(read);
      } catch (IOException e) {
        events.add("connection " + n + ": " + e + " while speaking first");
        heard.completeExceptionally(e);
      }
    }

    private static void daemon(String name, Runnable body) {
      Thread thread = new Thread(body, name);
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
    }
  }
}
