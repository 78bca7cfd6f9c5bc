package dev.offload.cli;

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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code docker run -p} made local, every hop a real one: a TCP echo on this machine's loopback
 * stands in for a container's published port on the runner, announced the way Docker announces
 * one (a {@code start} event, then {@code docker container inspect}); the detached bridge of
 * {@code offload start --detach} opens a local listener for it, and closes it after the
 * container's {@code die} event. Runner and client share one loopback here, so the stand-in's
 * own port is always taken locally: the bridge must say so and forward from a free port. A second
 * published port, on which nothing listens, gets its own number locally.
 */
class PortForwardingIT {
  private static final int PAYLOAD = 4 * 1024 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void aPublishedPortIsForwardedLocallyWhileItsContainerRuns() throws Exception {
    Path home = Files.createTempDirectory("offload-ports-home");
    Map<String, String> env = Map.of(
        "XDG_CONFIG_HOME", home.resolve("config").toString(),
        "DOCKER_CONFIG", home.resolve("docker").toString());
    ConfigStore store = new ConfigStore(home.resolve("config/offload"));
    int unused = freePort();
    try (Echo container = Echo.start();
        Echo engine = Echo.start();
        OffloadProcesses server = OffloadProcesses.startServer(
            Map.of("OFFLOAD_LOCAL_ENGINE", "tcp://127.0.0.1:" + engine.port()),
            dataDir -> fakeDocker(dataDir, container.port(), unused))) {
      try {
        scenario(env, store, server, container.port(), unused);
      } catch (Throwable failure) {
        throw new AssertionError(failure + "\n--- bridge log\n" + read(store.logFile())
            + "\n--- server log\n" + server.output(), failure);
      } finally {
        BackgroundBridge.running(store).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  private static void scenario(Map<String, String> env, ConfigStore store, OffloadProcesses server, int published,
      int unused) throws Exception {
    assertEquals(0, OffloadProcesses.offload(env, "login", "--server", server.url(), "--token", server.devToken()).exit());
    Cli.Run start = OffloadProcesses.offload(env, "start", "--detach", "--idle-timeout", "2m");
    assertEquals(0, start.exit(), start.toString());
    String session = store.state().orElseThrow().session();

    event(server.dataDir(), "start");
    Pattern conflict = Pattern.compile("port " + published + " is in use here; forwarding 127\\.0\\.0\\.1:(\\d+) → container web:"
        + published);
    Matcher chosen = conflict.matcher("");
    Await.until(WAIT, () -> chosen.reset(read(store.logFile())).find(), () -> read(store.logFile()));
    int local = Integer.parseInt(chosen.group(1));
    Await.until(WAIT, () -> read(store.logFile()).contains("forwarding 127.0.0.1:" + unused + " → container web:" + unused),
        () -> read(store.logFile()));
    assertTrue(taken(unused), "a published port free here is forwarded from the same number");

    try (Socket socket = connect(local)) {
      long began = System.nanoTime();
      exchange(socket, PAYLOAD);
      System.out.printf("published port: %d MiB each way in %.2f s%n", PAYLOAD >> 20, (System.nanoTime() - began) / 1e9);
    }
    try (Socket held = connect(local)) {
      byte[] ping = "ping".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      held.getOutputStream().write(ping);
      assertArrayEquals(ping, held.getInputStream().readNBytes(ping.length), "a held connection echoes");
      JsonNode counted = awaitSession(server, session, s -> s.path("openConnections").asInt() >= 1);
      assertEquals("active", counted.path("state").asText(), "an open port connection is activity: " + counted);
    }

    event(server.dataDir(), "die");
    Await.until(WAIT, () -> !LocalBridge.listening(local) && !taken(unused), () -> read(store.logFile()));
    assertTrue(read(store.logFile()).contains("container web no longer publishes port " + published
        + "; closed 127.0.0.1:" + local), read(store.logFile()));
    JsonNode after = awaitSession(server, session, s -> s.path("ports").isEmpty());
    assertEquals(0, after.path("ports").size(), after.toString());

    assertEquals(0, OffloadProcesses.offload(env, "stop").exit());
  }

  /** Writes pseudo-random bytes while reading the echo, then half-closes: the SHA-256s must match. */
  private static void exchange(Socket socket, int size) throws Exception {
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      try {
        OutputStream out = socket.getOutputStream();
        SplittableRandom random = new SplittableRandom(7);
        byte[] chunk = new byte[64 * 1024];
        for (int written = 0; written < size; written += chunk.length) {
          random.nextBytes(chunk);
          sent.update(chunk);
          out.write(chunk);
        }
        socket.shutdownOutput();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    MessageDigest received = MessageDigest.getInstance("SHA-256");
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[64 * 1024];
    long got = 0;
    for (int n; got < size && (n = in.read(buffer, 0, (int) Math.min(buffer.length, size - got))) >= 0; got += n) {
      received.update(buffer, 0, n);
    }
    writer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(size, got, "the whole echo came back");
    assertEquals(HexFormat.of().formatHex(sent.digest()), HexFormat.of().formatHex(received.digest()));
    assertEquals(-1, in.read(), "the stand-in saw end of input and closed");
  }

  /**
   * The runner's {@code docker}: no containers listed, events from a file the test appends to,
   * and an inspect answer publishing {@code published} (where the stand-in listens) and {@code unused}.
   */
  private static void fakeDocker(Path dataDir, int published, int unused) throws IOException {
    Path bin = Files.createDirectories(dataDir.resolve("runners/bin"));
    Files.writeString(dataDir.resolve("events"), "");
    Files.writeString(dataDir.resolve("inspect"), "[{\"Id\":\"c1f00d\",\"Name\":\"/web\",\"NetworkSettings\":{\"Ports\":{"
        + "\"" + published + "/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"" + published + "\"},{\"HostIp\":\"::\",\"HostPort\":\""
        + published + "\"}],\"" + unused + "/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"" + unused + "\"}]}}}]\n");
    Path docker = bin.resolve("docker");
    Files.writeString(docker, String.join("\n",
        "#!/bin/sh",
        "d=" + dataDir,
        "case \"$1\" in",
        "  events) exec tail -n +1 -f \"$d/events\" ;;",
        "  container) cat \"$d/inspect\" ;;",
        "  info) echo 27.0.0-fake ;;",
        "esac",
        "exit 0",
        ""));
    Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static void event(Path dataDir, String action) throws IOException {
    Files.writeString(dataDir.resolve("events"), "{\"status\":\"" + action + "\",\"id\":\"c1f00d\",\"Type\":\"container\","
        + "\"Action\":\"" + action + "\",\"Actor\":{\"ID\":\"c1f00d\",\"Attributes\":{\"image\":\"nginx:1.27\",\"name\":\"web\"}}}\n",
        StandardOpenOption.APPEND);
  }

  private static JsonNode awaitSession(OffloadProcesses server, String id, java.util.function.Predicate<JsonNode> done)
      throws IOException {
    HttpClient http = HttpClient.newHttpClient();
    String token = server.devToken();
    JsonNode[] last = {null};
    Await.until(WAIT, () -> {
      try {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/sessions/" + id))
            .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        last[0] = ConfigStore.JSON.readTree(response.body());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      return done.test(last[0]);
    }, () -> String.valueOf(last[0]));
    return last[0];
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
    socket.setSoTimeout(Math.toIntExact(WAIT.toMillis()));
    return socket;
  }

  private static int freePort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return probe.getLocalPort();
    }
  }

  /** Binding fails: something listens there (checked without connecting, which would open a tunnel). */
  private static boolean taken(int port) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Echoes each connection until end of input, then closes it: the container's service. */
  private static final class Echo implements AutoCloseable {
    private final ServerSocket listener;

    private Echo(ServerSocket listener) {
      this.listener = listener;
    }

    static Echo start() throws IOException {
      Echo echo = new Echo(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
      daemon(() -> {
        while (!echo.listener.isClosed()) {
          try {
            Socket socket = echo.listener.accept();
            daemon(() -> {
              try (socket) {
                socket.getInputStream().transferTo(socket.getOutputStream());
              } catch (IOException e) {
                // The client went away: nothing to echo to.
              }
            });
          } catch (IOException closed) {
            return;
          }
        }
      });
      return echo;
    }

    int port() {
      return listener.getLocalPort();
    }

    private static void daemon(Runnable body) {
      Thread thread = new Thread(body, "port-echo");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
    }
  }
}
