package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code docker run -p} and {@code docker run -v} through the product against this machine's
 * real Docker Engine (the local runner's default engine target), with the real {@code docker}
 * CLI. Opt-in by nature: without a reachable engine it is skipped with a message. The images
 * ({@code OFFLOAD_TEST_WEB_IMAGE}, default {@code nginx:alpine}, and {@code alpine}) are pulled
 * by the engine if missing. Health and wipe commands stay {@code true} (OffloadProcesses), so the
 * host's engine is never pruned.
 */
class RealDockerIT {
  private static final Pattern DOCKER_HOST = Pattern.compile("export DOCKER_HOST=tcp://127\\.0\\.0\\.1:(\\d+)");

  @Test
  void publishedPortsAndBindMountsWorkWithARealEngine() throws Exception {
    Assumptions.assumeTrue(Files.exists(Path.of("/var/run/docker.sock")) && docker(List.of("version"), Map.of()).exit() == 0,
        "no Docker Engine reachable at /var/run/docker.sock with a docker CLI on the PATH: skipping the real-engine test");
    Path home = Files.createTempDirectory("offload-real-docker");
    Map<String, String> env = Map.of(
        "XDG_CONFIG_HOME", home.resolve("config").toString(),
        "DOCKER_CONFIG", home.resolve("docker").toString());
    ConfigStore store = new ConfigStore(home.resolve("config/offload"));
    String image = System.getenv().getOrDefault("OFFLOAD_TEST_WEB_IMAGE", "nginx:alpine");
    String name = "offload-it-" + ProcessHandle.current().pid();
    try (OffloadProcesses server = OffloadProcesses.startServer()) {
      try {
        assertEquals(0, OffloadProcesses.offload(env, "login", "--server", server.url(), "--token", server.devToken()).exit());
        Cli.Run start = OffloadProcesses.offload(env, "start", "--detach", "--idle-timeout", "5m");
        assertEquals(0, start.exit(), start.toString());
        Matcher printed = DOCKER_HOST.matcher(start.out());
        assertTrue(printed.find(), start.toString());
        Map<String, String> viaOffload = Map.of("DOCKER_HOST", "tcp://127.0.0.1:" + printed.group(1));

        int published = freePort();
        Cli.Run run = docker(List.of("run", "-d", "--name", name, "-p", published + ":80", image), viaOffload);
        assertEquals(0, run.exit(), run.toString());
        // The runner is this machine: the engine holds the port here, so the bridge picks another.
        Pattern forwarded = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) → container " + name + ":" + published);
        Matcher local = forwarded.matcher("");
        Await.until(Duration.ofSeconds(30), () -> local.reset(read(store.logFile())).find(), () -> read(store.logFile()));
        HttpResponse<String> page = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + local.group(1) + "/")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode(), page.body());

        Path project = Files.createTempDirectory("offload-real-docker-src");
        Files.writeString(project.resolve("hello.txt"), "hello from the client\n");
        Cli.Run cat = docker(List.of("run", "--rm", "-v", project + ":/src:ro", "alpine", "cat", "/src/hello.txt"), viaOffload);
        assertEquals(0, cat.exit(), cat.toString());
        assertEquals("hello from the client\n", cat.out());

        assertEquals(0, docker(List.of("rm", "-f", name), viaOffload).exit());
        Await.until(Duration.ofSeconds(30), () -> read(store.logFile()).contains("no longer publishes port " + published),
            () -> read(store.logFile()));
        assertEquals(0, OffloadProcesses.offload(env, "stop").exit());
      } finally {
        docker(List.of("rm", "-f", name), Map.of());
        BackgroundBridge.running(store).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  private static Cli.Run docker(List<String> args, Map<String, String> env) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("docker"));
    command.addAll(args);
    Path out = Files.createTempFile("docker-out", ".txt");
    Path err = Files.createTempFile("docker-err", ".txt");
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException noDocker) {
      return new Cli.Run(127, "", noDocker.getMessage());
    }
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError("docker " + args + " did not finish within 5 minutes");
    }
    return new Cli.Run(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static int freePort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return probe.getLocalPort();
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }
}
