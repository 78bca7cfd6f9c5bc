package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.runner.LocalRunners;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/sessions/{id}/ports/{port}} on a real server and local runner: a TCP echo on the
 * loopback interface stands in for a container's published port, announced by the engine's
 * container events and inspect answer as Docker would.
 */
class PortTunnelTest {
  private static TestEngine engine;
  private static TestEngine container;
  private static TestServer server;
  private static ApiClient api;
  private static Path dataDir;

  @BeforeAll
  static void start() throws Exception {
    engine = TestEngine.tcp();
    container = TestEngine.tcp();
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"" + engine.target() + "\"",
        "offload.runners.health-command = true",
        "offload.runners.wipe-command = true"));
    api = server.api();
    dataDir = Path.of(server.server().system().settings().config().getString("offload.data-dir"));
    Path docker = Files.createDirectories(LocalRunners.binDir(dataDir)).resolve("docker");
    Files.writeString(dataDir.resolve("events"), "");
    Files.writeString(dataDir.resolve("inspect"), "[{\"Id\":\"c1f00d\",\"Name\":\"/web\",\"NetworkSettings\":{\"Ports\":{"
        + "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"" + port(container) + "\"}]}}}]\n");
    Files.writeString(docker, String.join("\n",
        "#!/bin/sh",
        "d=" + dataDir,
        "case \"$1\" in",
        "  info) echo 27.3.1 ;;",
        "  events) exec tail -n +1 -f \"$d/events\" ;;",
        "  container) cat \"$d/inspect\" ;;",
        "esac",
        "exit 0",
        ""));
    assertTrue(docker.toFile().setExecutable(true));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    container.close();
    engine.close();
  }

  @Test
  void aPublishedPortIsReachableWhileItsContainerRunsAndNoOtherPortEver() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 60);
    int published = port(container);

    assertEquals(404, api.get("/v1/sessions/" + session + "/ports/" + published, token).status(),
        "nothing is published before the container starts");
    event("start");
    JsonNode ports = Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + session, token).json(),
        s -> s.path("ports").size() == 1, "the session lists the published port").path("ports");
    assertEquals("c1f00d", ports.get(0).path("container").asText(), ports.toString());
    assertEquals(published, ports.get(0).path("hostPort").asInt(), ports.toString());
    assertEquals("tcp", ports.get(0).path("protocol").asText(), ports.toString());
    assertEquals(80, ports.get(0).path("containerPort").asInt(), ports.toString());
    assertEquals("web", ports.get(0).path("name").asText(), ports.toString());

    TunnelClient client = TunnelClient.port(server.server().url(), session, published, token);
    client.send("hello port".getBytes(StandardCharsets.US_ASCII));
    client.eof();
    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    assertEquals("hello port" + new String(TestEngine.ANSWER, StandardCharsets.US_ASCII),
        new String(client.bytes(), StandardCharsets.US_ASCII));

    ApiClient.Response other = api.get("/v1/sessions/" + session + "/ports/" + port(engine), token);
    assertEquals(404, other.status(), "the engine's own port is not published: " + other.body());
    assertEquals("not_found", other.errorCode(), other.body());
    assertTrue(other.errorMessage().contains("publishes no TCP port " + port(engine)), other.body());

    event("die");
    Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + session, token).json(),
        s -> s.path("ports").isEmpty(), "the port is gone with its container");
    assertEquals(404, api.get("/v1/sessions/" + session + "/ports/" + published, token).status());
  }

  private static void event(String action) throws IOException {
    Files.writeString(dataDir.resolve("events"), "{\"status\":\"" + action + "\",\"id\":\"c1f00d\",\"Type\":\"container\","
        + "\"Action\":\"" + action + "\",\"Actor\":{\"ID\":\"c1f00d\",\"Attributes\":{\"image\":\"nginx:1.27\",\"name\":\"web\"}}}\n",
        StandardOpenOption.APPEND);
  }

  private static int port(TestEngine engine) throws IOException {
    return Integer.parseInt(engine.target().substring(engine.target().lastIndexOf(':') + 1));
  }
}
