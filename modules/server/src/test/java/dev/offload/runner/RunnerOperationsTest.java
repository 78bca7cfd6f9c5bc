package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fleet seen through the product: containers on a session's runner drive the session, a
 * runner whose SSH server dies ends its session as runner-lost and is replaced, the operator's
 * runner routes, and a session's diagnosis.
 */
class RunnerOperationsTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;
  private static TestServer server;
  private static EchoServer engine;
  private static ApiClient api;
  private static Path dataDir;
  private static String member;
  private static int users;

  @BeforeAll
  static void start() throws Exception {
    engine = EchoServer.tcp();
    int enginePort = ((java.net.InetSocketAddress) engine.address()).getPort();
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"tcp://127.0.0.1:" + enginePort + "\"",
        "offload.runners.classes.standard { provider = local, min-warm = 2, max = 3 }",
        "offload.runners.health-interval = 500ms",
        "offload.runners.runner-lost-after = 2s",
        "offload.runners.wipe-command = \"true\"",
        // The engine is the fake docker below, asked the way real runners are.
        "offload.runners.health-command = \"docker info --format '{{.ServerVersion}}'\""));
    api = server.api();
    dataDir = Path.of(server.server().system().settings().config().getString("offload.data-dir"));
    installDocker();
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"fleet\"}").status());
  }

  @AfterAll
  static void stop() throws IOException {
    server.close();
    engine.close();
  }

  /** A stand-in for the engine's CLI: `docker events` follows a file the test appends to. */
  private static void installDocker() throws IOException {
    Path docker = Files.createDirectories(LocalRunners.binDir(dataDir)).resolve("docker");
    Files.writeString(dataDir.resolve("events"), "");
    Files.writeString(docker, String.join("\n",
        "#!/bin/sh",
        "d=" + dataDir,
        "case \"$1\" in",
        "  info) echo 27.3.1 ;;",
        "  events) exec tail -n +1 -f \"$d/events\" ;;",
        "esac",
        "exit 0",
        ""));
    assertTrue(docker.toFile().setExecutable(true));
  }

  private static void event(String action, String id, String image) throws IOException {
    Files.writeString(dataDir.resolve("events"), "{\"status\":\"" + action + "\",\"id\":\"" + id + "\",\"from\":\"" + image
            + "\",\"Type\":\"container\",\"Action\":\"" + action + "\",\"Actor\":{\"ID\":\"" + id
            + "\",\"Attributes\":{\"image\":\"" + image + "\"}}}\n",
        StandardOpenOption.APPEND);
  }

  private static String newMember() {
    return api.post("/v1/orgs/fleet/tokens", OP, "{\"user\":\"u" + (++users) + "\",\"role\":\"member\"}")
        .json().get("token").asText();
  }

  private static JsonNode session(String id, String token) {
    return api.get("/v1/sessions/" + id, token).json();
  }

  private static JsonNode running(String token, int idleTimeout) {
    String id = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": " + idleTimeout + "}").json().get("id").asText();
    return Await.until(Duration.ofSeconds(20), () -> session(id, token),
        s -> List.of("active", "grace-period").contains(s.get("state").asText()), "session " + id + " running");
  }

  @Test
  void aRunningContainerKeepsTheSessionActiveUntilItStops() throws Exception {
    member = newMember();
    JsonNode s = running(member, 10);
    String id = s.get("id").asText();
    event("start", "c1", "nginx:1.27");
    JsonNode busy = Await.until(Duration.ofSeconds(10), () -> session(id, member),
        j -> j.get("runningContainers").asInt() == 1, "the container to be tracked");
    assertEquals(1, busy.get("containersStarted").asInt());
    assertEquals("active", busy.get("state").asText());
    assertEquals("container-running", busy.get("lastActivityReason").asText());

    // Past the 10 s idle timeout, a running container still keeps the session active.
    Instant past = Instant.now().plusSeconds(12);
    JsonNode later = Await.until(Duration.ofSeconds(20), () -> session(id, member),
        j -> !j.get("state").asText().equals("active") || Instant.now().isAfter(past), "12 s to pass");
    assertEquals("active", later.get("state").asText(), later.toString());
    event("die", "c1", "nginx:1.27");
    JsonNode quiet = Await.until(Duration.ofSeconds(10), () -> session(id, member),
        j -> j.get("runningContainers").asInt() == 0, "the container to stop");
    assertEquals(1, quiet.get("containersStarted").asInt());
    assertEquals("grace-period", Await.until(Duration.ofSeconds(5), () -> session(id, member),
        j -> j.get("state").asText().equals("grace-period"), "the grace period").get("state").asText());
    api.delete("/v1/sessions/" + id, member);
  }

  @Test
  void aRunnerWhoseSshServerDiesEndsItsSessionAndIsReplaced() throws Exception {
    String token = newMember();
    JsonNode s = running(token, 600);
    String id = s.get("id").asText();
    String runner = s.get("runner").get("id").asText();
    LocalRunners local = (LocalRunners) server.server().fleet().provider("local").orElseThrow();
    Instant killed = Instant.now();
    local.kill(runner);

    JsonNode ended = Await.until(Duration.ofSeconds(15), () -> session(id, token),
        j -> j.get("state").asText().equals("terminated"), "the session to end with its runner");
    assertEquals("runner-lost", ended.get("terminationReason").asText());
    long seconds = Duration.between(killed, Instant.parse(ended.get("terminatedAt").asText())).toSeconds();
    assertTrue(seconds <= 2 + 2 * 1, "runner-lost-after (2 s) plus the health checks: took " + seconds + " s");
    Await.until(Duration.ofSeconds(20), () -> api.get("/v1/runners?state=warm", OP).json().get("runners"),
        runners -> runners.size() >= 2 && ids(runners).stream().noneMatch(runner::equals),
        "warm runners to be back to min-warm without the dead one");
  }

  @Test
  void theOperatorListsAndDrainsRunners() {
    JsonNode all = api.get("/v1/runners", OP).json().get("runners");
    assertTrue(all.size() >= 2, all.toString());
    JsonNode first = all.get(0);
    assertEquals("standard", first.get("class").asText());
    assertEquals("local", first.get("provider").asText());
    assertTrue(first.get("hostKeyFingerprint").asText().startsWith("SHA256:"), first.toString());
    assertEquals(0, api.get("/v1/runners?class=gpu", OP).json().get("runners").size());
    assertEquals("state", api.get("/v1/runners?state=sleeping", OP).errorField());
    assertEquals(403, api.get("/v1/runners", newMember()).status());
    assertEquals(404, api.post("/v1/runners/no-such-runner/drain", OP, "").status());

    String warm = api.get("/v1/runners?state=warm", OP).json().get("runners").get(0).get("id").asText();
    ApiClient.Response drained = api.post("/v1/runners/" + warm + "/drain", OP, "");
    assertEquals(202, drained.status(), drained.body());
    Await.until(Duration.ofSeconds(20), () -> ids(api.get("/v1/runners", OP).json().get("runners")),
        ids -> !ids.contains(warm), "the drained runner to be destroyed");
  }

  @Test
  void aSessionDiagnosisChecksItsRunnerEngineAndJournal() {
    String token = newMember();
    String id = running(token, 600).get("id").asText();
    JsonNode checks = api.get("/v1/sessions/" + id + "/diagnose", token).json().get("checks");
    List<String> names = new ArrayList<>();
    checks.forEach(c -> {
      names.add(c.get("name").asText());
      assertTrue(c.get("ok").asBoolean(), c.toString());
      assertFalse(c.get("detail").asText().isEmpty(), c.toString());
    });
    assertEquals(List.of("runner reachable over SSH", "engine answers", "engine target opens", "tunnel connections",
        "server clock", "journal reachable"), names);
    assertEquals(404, api.get("/v1/sessions/" + id + "/diagnose", newMember()).status());
    api.delete("/v1/sessions/" + id, token);
  }

  private static List<String> ids(JsonNode runners) {
    List<String> ids = new ArrayList<>();
    runners.forEach(r -> ids.add(r.get("id").asText()));
    return ids;
  }
}
