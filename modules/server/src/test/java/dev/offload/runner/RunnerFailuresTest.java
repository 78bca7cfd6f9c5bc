package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A runner failing under a running session, seen through the API: its engine socket goes
 * missing, then its SSH server goes away in the middle of a tunnel. Each is a clear error on the
 * tunnel and in {@code diagnose}, and a runner that stays away ends the session as
 * {@code runner-lost} (runners-and-tunnels.md).
 */
class RunnerFailuresTest {

  @TempDir Path hostsDir;

  @Test
  void aMissingEngineSocketAndARunnerLostMidTunnelAreReportedAndEndTheSession() throws Exception {
    Path socket = hostsDir.resolve("engine.sock");
    StaticHosts.installDocker(hostsDir);
    EchoServer engine = EchoServer.unix(socket);
    String target = "unix://" + socket;
    try (LocalRunners hosts = LocalRunners.start(ConfigFactory.parseString(
            "offload.runners.local.engine-target = \"" + target + "\"").withFallback(ConfigFactory.load()),
            hostsDir, ForkJoinPool.commonPool())) {
      RunnerInfo host = hosts.create("standard").toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (TestServer server = TestServer.start(String.join("\n",
          "offload.runners.classes.standard { provider = static, min-warm = 1, max = 1 }",
          StaticHosts.config(host, target),
          "offload.runners.ssh.identity = \"" + LocalRunners.clientKeyPath(hostsDir) + "\"",
          "offload.runners.health-command = \"docker info --format '{{.ServerVersion}}'\"",
          "offload.runners.health-interval = 500ms",
          "offload.runners.runner-lost-after = 2s"))) {
        ApiClient api = server.api();
        String org = "rf-" + UUID.randomUUID().toString().substring(0, 8);
        assertEquals(201, api.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"" + org + "\"}").status());
        String token = api.post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
            "{\"user\":\"alice\",\"role\":\"member\"}").json().get("token").asText();
        Response started = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 3600}");
        String session = started.json().get("id").asText();
        Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + session, token).json(),
            s -> s.path("state").asText().equals("grace-period"), "the session running on vm-a");
        assertTrue(api.diagnoseCheck(session, token, "engine target opens").get("ok").asBoolean());

        // The engine's socket goes missing: tunnels are refused with a reason, diagnose says which.
        engine.close();
        Files.deleteIfExists(socket);
        RecordedTunnel refused = RecordedTunnel.open(server.server().url(), session, token);
        assertEquals(1011, refused.closed.get(30, TimeUnit.SECONDS));
        assertEquals("unavailable", refused.lastError().get("code").asText());
        assertTrue(refused.lastError().get("message").asText().contains("engine"), refused.texts.toString());
        JsonNode engineCheck = api.diagnoseCheck(session, token, "engine target opens");
        assertFalse(engineCheck.get("ok").asBoolean());
        assertTrue(engineCheck.get("detail").asText().contains(target), engineCheck.toString());
        assertTrue(api.diagnoseCheck(session, token, "runner reachable over SSH").get("ok").asBoolean(),
            "SSH itself is fine: " + engineCheck);

        // The engine is back; then the runner's SSH server goes away under an open tunnel.
        engine = EchoServer.unix(socket);
        RecordedTunnel open = RecordedTunnel.open(server.server().url(), session, token);
        open.socket.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).join();
        assertFalse(open.closed.isDone());
        hosts.destroy(host).toCompletableFuture().get(30, TimeUnit.SECONDS);
        int code = open.closed.get(30, TimeUnit.SECONDS);
        assertTrue(code == 1011 || code == 1008, "closed with a code that is not a clean end: " + code);
        assertFalse(open.texts.isEmpty(), "the close is explained by an error control message");
        assertFalse(open.lastError().get("message").asText().isBlank(), open.texts.toString());
        JsonNode unreachable = api.diagnoseCheck(session, token, "runner reachable over SSH");
        assertFalse(unreachable.get("ok").asBoolean(), unreachable.toString());
        assertFalse(unreachable.get("detail").asText().isBlank(), unreachable.toString());

        JsonNode ended = Await.until(Duration.ofSeconds(30), () -> api.get("/v1/sessions/" + session, token).json(),
            s -> s.path("state").asText().equals("terminated"), "the session to end once its runner stays away");
        assertEquals("runner-lost", ended.get("terminationReason").asText());
      }
    } finally {
      engine.close();
    }
  }
}
