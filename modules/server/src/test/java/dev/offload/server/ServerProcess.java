package dev.offload.server;

import dev.offload.api.ApiClient;
import dev.offload.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The product as an operator runs it: {@code bin/offload-server} in its own process, with its
 * embedded PostgreSQL under the given data directory. Needs the packaged jars (integration tests).
 */
public final class ServerProcess implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Path log;

  private ServerProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  public static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("bin/offload-server"))) dir = dir.getParent();
    if (dir == null) throw new IllegalStateException("bin/offload-server not found above " + Path.of("").toAbsolutePath());
    return dir;
  }

  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the server in {@code workDir} (its default data directory is {@code workDir/data}). */
  public static ServerProcess start(Path workDir, int port, String javaOpts, Map<String, String> env) throws IOException {
    Path log = Files.createTempFile("offload-server", ".log");
    ProcessBuilder builder = new ProcessBuilder(repositoryRoot().resolve("bin/offload-server").toString())
        .directory(workDir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("OFFLOAD_HTTP_PORT", String.valueOf(port));
    // No Docker engine on test machines: health checks and wipes succeed as if one answered.
    builder.environment().put("OFFLOAD_RUNNER_HEALTH_COMMAND", "true");
    builder.environment().put("OFFLOAD_RUNNER_WIPE_COMMAND", "true");
    builder.environment().put("JAVA_OPTS", "-Dakka.remote.artery.canonical.port=0 " + javaOpts);
    builder.environment().putAll(env);
    ServerProcess server = new ServerProcess(builder.start(), port, log);
    ApiClient probe = new ApiClient(server.url());
    Await.until(Duration.ofSeconds(90), () -> server.readyOrDead(probe), ready -> ready, "the server to be ready (log " + log + ")");
    return server;
  }

  private boolean readyOrDead(ApiClient probe) {
    if (!process.isAlive()) throw new AssertionError("the server exited; its output:\n" + output());
    try {
      return probe.get("/health/ready", null).status() == 200;
    } catch (AssertionError notListeningYet) {
      return false;
    }
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public String output() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A full stop, as SIGTERM from a supervisor: the server shuts down and releases its database. */
  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("the server did not stop within 60 s");
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) stop();
  }
}
