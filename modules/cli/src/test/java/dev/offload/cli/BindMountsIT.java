package dev.offload.cli;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code docker run -v "$PWD":/src} through the product, every hop a real one: requests as the
 * Docker CLI sends them (a versioned path, a chunked body) to the bridge of {@code offload start
 * --detach}, a local runner, and an engine stand-in in this JVM that records what reaches it. The
 * runner is on this machine, so its workspace can be read directly.
 */
class BindMountsIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Pattern DOCKER_HOST = Pattern.compile("export DOCKER_HOST=tcp://127\\.0\\.0\\.1:(\\d+)");
  private static final int CAP = 2 * 1024 * 1024;

  @Test
  void localBindSourcesAreCopiedRewrittenAndFollowedAndEverythingElsePassesThrough() throws Exception {
    Path home = Files.createTempDirectory("offload-mounts-home");
    Map<String, String> env = Map.of(
        "XDG_CONFIG_HOME", home.resolve("config").toString(),
        "DOCKER_CONFIG", home.resolve("docker").toString());
    ConfigStore store = new ConfigStore(home.resolve("config/offload"));
    try (Engine engine = Engine.start();
        OffloadProcesses server = OffloadProcesses.startServer(
            Map.of("OFFLOAD_LOCAL_ENGINE", "tcp://127.0.0.1:" + engine.port(),
                "OFFLOAD_WORKSPACE_MAX_BYTES", String.valueOf(CAP)),
            BindMountsIT::fakeDocker)) {
      try {
        scenario(env, store, server, engine);
      } catch (Throwable failure) {
        throw new AssertionError(failure + "\n--- engine\n" + engine.seen + "\n--- bridge log\n" + read(store.logFile())
            + "\n--- server log\n" + server.output(), failure);
      } finally {
        BackgroundBridge.running(store).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  private static void scenario(Map<String, String> env, ConfigStore store, OffloadProcesses server, Engine engine)
      throws Exception {
    assertEquals(0, OffloadProcesses.offload(env, "login", "--server", server.url(), "--token", server.devToken()).exit());
    Cli.Run start = OffloadProcesses.offload(env, "start", "--detach", "--idle-timeout", "2m");
    assertEquals(0, start.exit(), start.toString());
    Matcher printed = DOCKER_HOST.matcher(start.out());
    assertTrue(printed.find(), start.toString());
    int bridge = Integer.parseInt(printed.group(1));

    Path project = Files.createTempDirectory("offload-mounts-project");
    Files.writeString(project.resolve("app.py"), "print('hello')\n");
    Files.createDirectories(project.resolve("src/deep/er"));
    Files.write(project.resolve("src/deep/er/data.bin"), random(300_000, 1));
    Files.writeString(project.resolve("src/" + "long-name-".repeat(12) + ".txt"), "a name over 100 bytes\n");
    Files.createDirectories(project.resolve("node_modules/left-pad"));
    Files.writeString(project.resolve("node_modules/left-pad/index.js"), "module.exports = 1\n");
    Files.writeString(project.resolve("secret.env"), "TOKEN=1\n");
    Files.writeString(project.resolve(".dockerignore"), "node_modules\n*.env\n");
    Path config = Files.createTempFile("offload-mounts-config", ".yml");
    Files.writeString(config, "debug: true\n");

    // As the Docker CLI sends it: a versioned path, a chunked body, a keep-alive connection.
    String create = "{\"Image\":\"python:3.12\",\"HostConfig\":{\"Binds\":[\"" + project + ":/src:ro\",\"cache:/cache\"],"
        + "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"" + config + "\",\"Target\":\"/etc/app.yml\"},"
        + "{\"Type\":\"volume\",\"Source\":\"data\",\"Target\":\"/data\"}]}}";
    try (Socket docker = connect(bridge)) {
      send(docker, "GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n");
      assertEquals(200, response(docker).status());
      send(docker, "POST /v1.45/containers/create?name=web HTTP/1.1\r\nHost: api.moby.localhost\r\n"
          + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(create));
      assertEquals(201, response(docker).status());
    }
    JsonNode received = engine.creates.get(0);
    String binds = received.path("HostConfig").path("Binds").toString();
    Matcher runnerPath = Pattern.compile("\"(/[^\"]+/offload-workspaces/[^\"]+):/src:ro\"").matcher(binds);
    assertTrue(runnerPath.find(), "the bind source is the runner path: " + received);
    assertTrue(binds.contains("\"cache:/cache\""), "named volumes are left alone: " + binds);
    Path onRunner = Path.of(runnerPath.group(1));
    assertTrue(onRunner.startsWith(server.dataDir().resolve("runners").toAbsolutePath().normalize())
        || onRunner.toString().contains("/runners/local-"), onRunner.toString());
    String file = received.path("HostConfig").path("Mounts").get(0).path("Source").asText();
    assertNotEquals(config.toString(), file, "the file mount's source is rewritten too");
    assertEquals("debug: true\n", Files.readString(Path.of(file)));
    assertEquals("data", received.path("HostConfig").path("Mounts").get(1).path("Source").asText());

    for (String same : List.of("app.py", "src/deep/er/data.bin", "src/" + "long-name-".repeat(12) + ".txt", ".dockerignore")) {
      assertArrayEquals(Files.readAllBytes(project.resolve(same)), Files.readAllBytes(onRunner.resolve(same)), same);
    }
    assertFalse(Files.exists(onRunner.resolve("node_modules")), "ignored directories are not copied");
    assertFalse(Files.exists(onRunner.resolve("secret.env")), "ignored files are not copied");

    long edited = System.nanoTime();
    Files.writeString(project.resolve("app.py"), "print('edited')\n");
    Await.until(Duration.ofSeconds(2), () -> readOrEmpty(onRunner.resolve("app.py")).equals("print('edited')\n"),
        () -> readOrEmpty(onRunner.resolve("app.py")));
    System.out.printf("bind mount: a local edit reached the runner in %d ms%n", (System.nanoTime() - edited) / 1_000_000);
    Files.createDirectories(project.resolve("src/new"));
    Files.writeString(project.resolve("src/new/module.py"), "x = 1\n");
    Files.writeString(project.resolve("later.env"), "IGNORED=1\n");
    Await.until(Duration.ofSeconds(2), () -> readOrEmpty(onRunner.resolve("src/new/module.py")).equals("x = 1\n"),
        () -> "src/new/module.py not on the runner");
    assertFalse(Files.exists(onRunner.resolve("later.env")), "ignored files stay local after the copy too");
    Files.move(project.resolve("src/new/module.py"), project.resolve("src/new/renamed.py"));
    Files.delete(project.resolve("src/deep/er/data.bin"));
    Await.until(Duration.ofSeconds(2), () -> Files.exists(onRunner.resolve("src/new/renamed.py"))
            && !Files.exists(onRunner.resolve("src/new/module.py")) && !Files.exists(onRunner.resolve("src/deep/er/data.bin")),
        () -> "a rename and a deletion not mirrored on the runner");

    // Over the cap: a clear answer, no container, no copy.
    Path big = Files.createTempDirectory("offload-mounts-big");
    Files.write(big.resolve("blob"), random(CAP + 1, 2));
    int createsBefore = engine.creates.size();
    try (Socket docker = connect(bridge)) {
      send(docker, "POST /v1.45/containers/create HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + ("{\"HostConfig\":{\"Binds\":[\"" + big + ":/big\"]}}").length() + "\r\n\r\n"
          + "{\"HostConfig\":{\"Binds\":[\"" + big + ":/big\"]}}");
      Response refused = response(docker);
      assertEquals(400, refused.status(), refused.body());
      String message = ConfigStore.JSON.readTree(refused.body()).path("message").asText();
      assertTrue(message.contains("over this server's bind-mount limit of 2 MiB"), message);
      assertTrue(message.contains(big.toString()), message);
    }
    assertEquals(createsBefore, engine.creates.size(), "the engine never saw the refused create");
    try (Stream<Path> workspaces = Files.list(onRunner.getParent())) {
      assertEquals(2, workspaces.count(), "only the project's and the config file's workspaces exist");
    }

    // An upgraded connection (attach) and a build context: byte for byte.
    byte[] stdin = random(1 << 20, 3);
    try (Socket docker = connect(bridge)) {
      send(docker, "POST /v1.45/containers/abc/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: api.moby.localhost\r\n"
          + "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
      assertEquals(101, response(docker).status());
      CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
        try {
          docker.getOutputStream().write(stdin);
          docker.shutdownOutput();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      byte[] echoed = docker.getInputStream().readAllBytes();
      writing.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertEquals(sha(stdin), sha(echoed), "the attached stream's SHA-256 both ways");
    }
    byte[] context = random(3 << 20, 4);
    String contextChunks = chunkedBytes(context);
    try (Socket docker = connect(bridge)) {
      send(docker, "POST /v1.45/build?t=app HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: application/x-tar\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n" + contextChunks);
      Response built = response(docker);
      assertEquals(200, built.status(), built.body());
      assertEquals(sha(contextChunks.getBytes(ISO_8859_1)), ConfigStore.JSON.readTree(built.body()).path("raw").asText(),
          "the engine received the build request's body byte for byte, chunk framing included");
    }

    assertEquals(0, OffloadProcesses.offload(env, "stop").exit());
  }

  // ---- the Docker client's side ----

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(ISO_8859_1));
    socket.getOutputStream().flush();
  }

  private record Response(int status, String body) {}

  /** A response head and, unless it switches protocols, its Content-Length body. */
  private static Response response(Socket socket) throws IOException {
    String head = head(socket.getInputStream());
    int status = Integer.parseInt(head.split(" ")[1]);
    Matcher length = Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    int bodyLength = status != 101 && length.find() ? Integer.parseInt(length.group(1)) : 0;
    return new Response(status, new String(socket.getInputStream().readNBytes(bodyLength), UTF_8));
  }

  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) throw new IOException("end of stream inside a head: " + head.toString(ISO_8859_1));
      head.write(b);
    }
    return head.toString(ISO_8859_1);
  }

  private static String chunked(String body) {
    byte[] bytes = body.getBytes(UTF_8);
    int half = bytes.length / 2;
    return Integer.toHexString(half) + "\r\n" + new String(bytes, 0, half, ISO_8859_1) + "\r\n"
        + Integer.toHexString(bytes.length - half) + ";ext=1\r\n" + new String(bytes, half, bytes.length - half, ISO_8859_1)
        + "\r\n0\r\n\r\n";
  }

  private static String chunkedBytes(byte[] bytes) {
    StringBuilder chunks = new StringBuilder();
    for (int at = 0; at < bytes.length; at += 100_000) {
      int n = Math.min(100_000, bytes.length - at);
      chunks.append(Integer.toHexString(n)).append("\r\n").append(new String(bytes, at, n, ISO_8859_1)).append("\r\n");
    }
    return chunks.append("0\r\n\r\n").toString();
  }

  // ---- the engine's side ----

  /**
   * Answers {@code _ping}, records container creates (201), switches an attach to a raw echo
   * (101) and answers a build with the SHA-256 of the raw body bytes it received.
   */
  private static final class Engine implements AutoCloseable {
    final List<JsonNode> creates = new CopyOnWriteArrayList<>();
    final List<String> seen = new CopyOnWriteArrayList<>();
    private final ServerSocket listener;

    private Engine(ServerSocket listener) {
      this.listener = listener;
    }

    static Engine start() throws IOException {
      Engine engine = new Engine(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
      daemon(() -> {
        while (!engine.listener.isClosed()) {
          try {
            Socket socket = engine.listener.accept();
            daemon(() -> engine.serve(socket));
          } catch (IOException closed) {
            return;
          }
        }
      });
      return engine;
    }

    int port() {
      return listener.getLocalPort();
    }

    private void serve(Socket socket) {
      try (socket) {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        while (true) {
          String head;
          try {
            head = head(in);
          } catch (IOException end) {
            return;
          }
          String requestLine = head.substring(0, head.indexOf("\r\n"));
          seen.add(requestLine);
          String path = requestLine.split(" ")[1];
          if (path.endsWith("/_ping")) {
            answer(out, 200, "OK");
          } else if (path.contains("/containers/create")) {
            Matcher length = Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertTrue(length.find(), "a rewritten create has a Content-Length: " + head);
            assertFalse(head.toLowerCase().contains("transfer-encoding"), head);
            creates.add(ConfigStore.JSON.readTree(in.readNBytes(Integer.parseInt(length.group(1)))));
            answer(out, 201, "{\"Id\":\"abc\",\"Warnings\":[]}");
          } else if (path.contains("/attach")) {
            out.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                .getBytes(ISO_8859_1));
            in.transferTo(out);
            return;
          } else if (path.contains("/build")) {
            MessageDigest raw = MessageDigest.getInstance("SHA-256");
            for (String line = rawLine(in, raw); ; line = rawLine(in, raw)) {
              int size = Integer.parseInt(line.strip(), 16);
              raw.update(in.readNBytes(size + 2));
              if (size == 0) break;
            }
            answer(out, 200, "{\"raw\":\"" + HexFormat.of().formatHex(raw.digest()) + "\"}");
          } else {
            answer(out, 404, "{\"message\":\"no such path\"}");
          }
        }
      } catch (Exception e) {
        seen.add("failed: " + e);
      }
    }

    private static String rawLine(InputStream in, MessageDigest raw) throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b = in.read(); b >= 0; b = in.read()) {
        line.write(b);
        if (b == '\n') break;
      }
      raw.update(line.toByteArray());
      return line.toString(ISO_8859_1);
    }

    private static void answer(OutputStream out, int status, String body) throws IOException {
      byte[] bytes = body.getBytes(UTF_8);
      out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
          .getBytes(ISO_8859_1));
      out.write(bytes);
      out.flush();
    }

    private static void daemon(Runnable body) {
      Thread thread = new Thread(body, "engine-stand-in");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
    }
  }

  /** The runners' docker: health, wipes and container tracking succeed with no containers. */
  private static void fakeDocker(Path dataDir) throws IOException {
    Path docker = Files.createDirectories(dataDir.resolve("runners/bin")).resolve("docker");
    Files.writeString(docker, "#!/bin/sh\ncase \"$1\" in\n  events) exec cat >/dev/null ;;\n  info) echo 27.0.0-fake ;;\nesac\nexit 0\n");
    Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
    socket.setSoTimeout(Math.toIntExact(WAIT.toMillis()));
    return socket;
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new SplittableRandom(seed).nextBytes(bytes);
    return bytes;
  }

  private static String sha(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  private static String readOrEmpty(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
