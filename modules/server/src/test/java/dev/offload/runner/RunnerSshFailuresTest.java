package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner's SSH server refusing the control plane, seen through the API: a login refused
 * (the runner no longer accepts the control plane's key) and a host key replaced under a running
 * session. Each is named in the runner listing, on the session, on its tunnels and in
 * {@code diagnose}, and the session ends or waits as lifecycle.md says.
 */
class RunnerSshFailuresTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String REACHABLE = "runner reachable over SSH";

  @TempDir Path hostsDir;

  private static JsonNode runner(ApiClient api, String id) {
    for (JsonNode r : api.get("/v1/runners", TestServer.OPERATOR_TOKEN).json().get("runners")) {
      if (r.get("id").asText().equals(id)) return r;
    }
    return JSON.createObjectNode();
  }

  /** The session's event stream, read to its end (it ends once the session is terminated). */
  private static CompletableFuture<java.net.http.HttpResponse<String>> events(String url, String session, String token) {
    return HttpClient.newHttpClient().sendAsync(
        java.net.http.HttpRequest.newBuilder(URI.create(url + "/v1/sessions/" + session + "/events"))
            .header("Authorization", "Bearer " + token).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private static String member(ApiClient api) {
    String org = "ssh-" + UUID.randomUUID().toString().substring(0, 8);
    assertEquals(201, api.post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"" + org + "\"}").status());
    return api.post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
        "{\"user\":\"alice\",\"role\":\"member\"}").json().get("token").asText();
  }

  @Test
  void aRunnerThatRefusesTheControlPlanesKeyIsListedWithTheReasonAndTheWaitingSessionSaysWhy() throws Exception {
    StaticHosts.installDocker(hostsDir);
    // The runner accepts a key the control plane does not hold, as after a key rotation done halfway.
    Path theirKey = hostsDir.resolve("keys").resolve("someone-else");
    Path ourKey = hostsDir.resolve("keys").resolve("control-plane");
    String ourFingerprint = RunnerInfo.fingerprint(Base64.getDecoder().decode(
        SshKeys.openSsh(SshKeys.loadOrCreate(ourKey, "offload control plane").getPublic()).split(" ")[1]));
    try (LocalRunners hosts = LocalRunners.start(ConfigFactory.parseString(
            "offload.runners.ssh.identity = \"" + theirKey + "\"").withFallback(ConfigFactory.load()),
            hostsDir, ForkJoinPool.commonPool())) {
      RunnerInfo host = hosts.create("standard").toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (TestServer server = TestServer.start(String.join("\n",
          "offload.runners.classes.standard { provider = static, min-warm = 1, max = 1 }",
          StaticHosts.config(host, "tcp://127.0.0.1:1"),
          "offload.runners.ssh.identity = \"" + ourKey + "\"",
          "offload.runners.health-interval = 500ms",
          "offload.session.provisioning-timeout = 8s"))) {
        ApiClient api = server.api();

        JsonNode listed = Await.until(WAIT, () -> runner(api, "vm-a"),
            r -> r.path("state").asText().equals("unhealthy"), "vm-a listed as unhealthy");
        String reason = listed.path("reason").asText();
        assertTrue(reason.contains("SSH authentication refused by runner vm-a"), listed.toString());
        assertTrue(reason.contains("for user " + host.user()), listed.toString());
        assertTrue(reason.contains(ourFingerprint), "names the key offered: " + listed);
        assertTrue(listed.path("session").isNull(), "never leased: " + listed);

        String token = member(api);
        String session = api.post("/v1/sessions", token, "{}").json().get("id").asText();
        var stream = events(server.server().url(), session, token);
        JsonNode waiting = Await.until(WAIT, () -> api.get("/v1/sessions/" + session, token).json(),
            s -> !s.path("runnerError").isMissingNode() && !s.path("runnerError").isNull(),
            "the session to say why it waits");
        assertEquals("provisioning", waiting.get("state").asText(), waiting.toString());
        assertEquals("vm-a", waiting.at("/runnerError/runner").asText(), waiting.toString());
        assertEquals(reason, waiting.at("/runnerError/message").asText(), waiting.toString());
        JsonNode diagnosed = api.diagnoseCheck(session, token, REACHABLE);
        assertFalse(diagnosed.get("ok").asBoolean());
        assertTrue(diagnosed.get("detail").asText().contains("authentication refused"), diagnosed.toString());
        assertFalse(diagnosed.get("detail").asText().contains("Exception"), "no stack trace: " + diagnosed);

        // Nothing else can serve it: it ends at its provisioning deadline, still saying why.
        JsonNode ended = Await.until(WAIT, () -> api.get("/v1/sessions/" + session, token).json(),
            s -> s.path("state").asText().equals("terminated"), "the session to end at its deadline");
        assertEquals("provisioning-timeout", ended.get("terminationReason").asText(), ended.toString());
        assertEquals(reason, ended.at("/runnerError/message").asText(), ended.toString());
        assertTrue(api.diagnoseCheck(session, token, REACHABLE).get("detail").asText().contains("authentication refused"));
        String followed = stream.get(30, TimeUnit.SECONDS).body();
        assertTrue(followed.contains("\"terminationReason\":\"provisioning-timeout\",\"runnerError\":{\"runner\":\"vm-a\""),
            "the last event carries the reason: " + followed);
      }
    }
  }

  @Test
  void aHostKeyReplacedUnderARunningSessionIsRefusedWithBothFingerprintsAndTheRunnerIsNotLeasedAgain()
      throws Exception {
    StaticHosts.installDocker(hostsDir);
    Path socket = hostsDir.resolve("engine.sock");
    String target = "unix://" + socket;
    EchoServer engine = EchoServer.unix(socket);
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
          "offload.runners.runner-lost-after = 8s"))) {
        ApiClient api = server.api();
        String url = server.server().url();
        String token = member(api);
        String session = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 3600}").json().get("id").asText();
        Await.until(WAIT, () -> api.get("/v1/sessions/" + session, token).json(),
            s -> s.path("state").asText().equals("grace-period"), "the session running on vm-a");
        var stream = events(url, session, token);
        RecordedTunnel open = RecordedTunnel.open(url, session, token);
        open.socket.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).join();

        // The runner is rebuilt at the same address with a new host key.
        String pinned = host.hostKeyFingerprint();
        hosts.replaceHostKey(host.id());
        String presented = hosts.adopt(host).toCompletableFuture().get(30, TimeUnit.SECONDS).hostKeyFingerprint();
        assertFalse(pinned.equals(presented));

        // A new tunnel is refused, saying which key was presented and which is pinned.
        JsonNode refused = Await.until(WAIT, () -> RecordedTunnel.open(url, session, token).refusal(),
            r -> r.path("message").asText().contains("host key"), "a tunnel refused for the host key");
        assertEquals("unavailable", refused.path("code").asText(), refused.toString());
        assertTrue(refused.path("message").asText().contains(presented), refused.toString());
        assertTrue(refused.path("message").asText().contains(pinned), refused.toString());
        int code = open.closed.get(30, TimeUnit.SECONDS);
        assertTrue(code == 1011 || code == 1008, "the open tunnel is cut with an error, not a clean end: " + code);
        assertFalse(open.refusal().path("message").asText().isBlank(), open.texts.toString());

        // Either diagnose still sees the session running (both fingerprints, and what to do), or the
        // session ended already and diagnose names the failure that ended it.
        JsonNode diagnosed = api.diagnoseCheck(session, token, REACHABLE);
        assertFalse(diagnosed.get("ok").asBoolean());
        String detail = diagnosed.get("detail").asText();
        assertTrue(detail.contains(presented) && detail.contains(pinned), diagnosed.toString());
        assertTrue(detail.contains("ssh-keygen -lf"), "says how to check and re-pin: " + diagnosed);

        JsonNode ended = Await.until(WAIT, () -> api.get("/v1/sessions/" + session, token).json(),
            s -> s.path("state").asText().equals("terminated"), "the session to end as runner-lost");
        assertEquals("runner-lost", ended.get("terminationReason").asText(), ended.toString());
        String why = ended.at("/runnerError/message").asText();
        assertTrue(why.contains("host key verification failed for runner vm-a"), ended.toString());
        assertTrue(why.contains(presented) && why.contains(pinned), ended.toString());
        String followed = stream.get(30, TimeUnit.SECONDS).body();
        int failed = followed.indexOf("event:runner-error");
        assertTrue(failed >= 0 && followed.indexOf(presented, failed) > failed, "a runner-error event: " + followed);
        assertTrue(followed.indexOf("\"state\":\"terminated\"") > failed, "before the termination: " + followed);
        String afterEnd = api.diagnoseCheck(session, token, REACHABLE).get("detail").asText();
        assertTrue(afterEnd.contains("runner-lost") && afterEnd.contains(presented), afterEnd);

        // Quarantined: listed with the reason, and a new session is told why it gets no runner.
        JsonNode listed = Await.until(WAIT, () -> runner(api, "vm-a"),
            r -> r.path("state").asText().equals("unhealthy") && r.path("reason").asText().contains(presented),
            "vm-a listed as unhealthy for its host key");
        assertTrue(listed.path("session").isNull(), listed.toString());
        assertEquals(pinned, listed.path("hostKeyFingerprint").asText(), listed.toString());
        String next = api.post("/v1/sessions", token, "{}").json().get("id").asText();
        JsonNode waiting = Await.until(WAIT, () -> api.get("/v1/sessions/" + next, token).json(),
            s -> s.at("/runnerError/message").asText().contains(presented), "the next session told why it waits");
        assertEquals("provisioning", waiting.get("state").asText(), waiting.toString());
        assertTrue(waiting.path("runner").isNull(), "vm-a is not leased again: " + waiting);
      }
    } finally {
      engine.close();
    }
  }
}
