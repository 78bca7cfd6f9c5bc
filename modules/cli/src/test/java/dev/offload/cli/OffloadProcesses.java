package dev.offload.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The product as a developer runs it, for integration tests: {@code bin/offload-server} on a fresh
 * data directory and {@code bin/offload} with its own config directory, each its own process.
 */
final class OffloadProcesses implements AutoCloseable {
  private final Process server;
  private final Path log;
  private final int port;
  private final Path workDir;

  private OffloadProcesses(Process server, Path log, int port, Path workDir) {
    this.server = server;
    this.log = log;
    this.port = port;
    this.workDir = workDir;
  }

  static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("bin/offload"))) dir = dir.getParent();
    if (dir == null) throw new IllegalStateException("bin/offload not found above " + Path.of("").toAbsolutePath());
    return dir;
  }

  /** Prepares the server's data directory before the server first starts. */
  interface DataDirSetup {
    void prepare(Path dataDir) throws IOException;
  }

  static OffloadProcesses startServer() throws IOException {
    return startServer(Map.of(), dataDir -> { });
  }

  /** With {@code env} added to the server's environment and the data directory set up first. */
  static OffloadProcesses startServer(Map<String, String> env, DataDirSetup setup) throws IOException {
    Path workDir = Files.createTempDirectory("offload-cli-it");
    setup.prepare(workDir.resolve("data"));
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Path log = workDir.resolve("server.log");
    ProcessBuilder builder = new ProcessBuilder(repositoryRoot().resolve("bin/offload-server").toString())
        .directory(workDir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().put("OFFLOAD_HTTP_PORT", String.valueOf(port));
    builder.environment().put("JAVA_OPTS", "-Dakka.remote.artery.canonical.port=0");
    // No Docker engine on test machines: health checks and wipes succeed as if one answered.
    builder.environment().put("OFFLOAD_RUNNER_HEALTH_COMMAND", "true");
    builder.environment().put("OFFLOAD_RUNNER_WIPE_COMMAND", "true");
    builder.environment().putAll(env);
    OffloadProcesses processes = new OffloadProcesses(builder.start(), log, port, workDir);
    HttpClient http = HttpClient.newHttpClient();
    // Generous: the first run of bin/offload-server may build the server.
    Await.until(Duration.ofMinutes(5), () -> processes.ready(http), processes::output);
    return processes;
  }

  private boolean ready(HttpClient http) {
    if (!server.isAlive()) throw new AssertionError("the server exited:\n" + output());
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url() + "/health/ready")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200 && Files.exists(devTokenFile());
    } catch (IOException notYet) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  /** {@code bin/offload-server}'s data directory: the default {@code ./data} in its working directory. */
  Path dataDir() {
    return workDir.resolve("data");
  }

  private Path devTokenFile() {
    return dataDir().resolve("dev-token");
  }

  String devToken() throws IOException {
    return Files.readString(devTokenFile()).trim();
  }

  String output() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code bin/offload ARGS} run to its end (at most two minutes). */
  static Cli.Run offload(Map<String, String> env, String... args) throws IOException, InterruptedException {
    return launch(env, args).finish();
  }

  /** {@code bin/offload ARGS} started, for a command that runs while the test does more. */
  static Running launch(Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(repositoryRoot().resolve("bin/offload").toString()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile("offload-out", ".txt");
    Path err = Files.createTempFile("offload-err", ".txt");
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(env);
    return new Running(builder.start(), String.join(" ", args), out, err);
  }

  record Running(Process process, String args, Path out, Path err) {
    Cli.Run finish() throws IOException, InterruptedException {
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new AssertionError("offload " + args + " did not finish within 2 minutes");
      }
      return new Cli.Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.destroy();
    if (!server.waitFor(60, TimeUnit.SECONDS)) {
      server.destroyForcibly().waitFor();
      throw new AssertionError("the server did not stop within 60 s");
    }
  }
}
