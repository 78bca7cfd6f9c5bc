package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every command's {@code --json} prints the server's JSON, parseable, and nothing else. */
class CommandsJsonTest {
  private static final String SESSION = "{\"id\":\"s-1\",\"org\":\"acme\",\"user\":\"alice\",\"state\":\"active\","
      + "\"runnerClass\":\"standard\",\"runner\":{\"id\":\"local-1\"},\"idleTimeoutSeconds\":300,"
      + "\"createdAt\":\"2026-11-28T10:00:00Z\",\"activatedAt\":\"2026-11-28T10:00:05Z\",\"lastActivityAt\":null,"
      + "\"idleAt\":\"2026-11-28T10:05:05Z\",\"expiresAt\":null,\"terminatedAt\":null,\"terminationReason\":null,"
      + "\"openConnections\":0,\"runningContainers\":1,\"containersStarted\":1,\"ports\":[{\"container\":\"c1\","
      + "\"hostPort\":8080,\"protocol\":\"tcp\",\"containerPort\":80,\"name\":\"web\"},{\"container\":\"c1\","
      + "\"hostPort\":5353,\"protocol\":\"udp\",\"containerPort\":53,\"name\":\"\"}],"
      + "\"lastActivityReason\":null,\"labels\":{}}";
  private static final String TERMINATED = SESSION.replace("\"active\"", "\"terminated\"")
      .replace("\"terminationReason\":null", "\"terminationReason\":\"stopped\"");
  private static final String SETTINGS = "{\"offloadEnabled\":true,\"idleTimeoutSeconds\":300,\"allowUserIdleTimeout\":true,"
      + "\"maxSessionsPerUser\":1,\"maxLiveSessions\":100,\"onDemandEnabled\":false,\"monthlyLimitCents\":null,"
      + "\"runnerClasses\":[\"standard\",\"gpu\"]}";

  private final Cli cli = new Cli(Cli.temp("offload-json"));
  private FakeApi api;

  @BeforeEach
  void server() {
    api = new FakeApi()
        .answer("GET /v1/sessions?limit=1", 200, "{\"sessions\":[" + SESSION + "],\"nextCursor\":null}")
        .answer("GET /v1/sessions?limit=50", 200, "{\"sessions\":[" + SESSION + "],\"nextCursor\":null}")
        .answer("GET /v1/sessions/s-1", 200, SESSION)
        .answer("DELETE /v1/sessions/s-1", 200, TERMINATED)
        .answer("GET /v1/orgs/acme/settings", 200, SETTINGS)
        .answer("PUT /v1/orgs/acme/settings", 200, SETTINGS.replace("\"idleTimeoutSeconds\":300", "\"idleTimeoutSeconds\":600"))
        .answer("GET /version", 200, "{\"version\":\"0.1.0\",\"akka\":\"2.8.6\"}");
    cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));
  }

  @AfterEach
  void stop() {
    api.close();
  }

  private JsonNode json(String... args) {
    Cli.Run run = cli.run(args);
    assertEquals(0, run.exit(), run.toString());
    assertEquals("", run.err(), run.toString());
    return run.json();
  }

  @Test
  void sessions() {
    JsonNode page = json("sessions", "--json");
    assertEquals("s-1", page.path("sessions").path(0).path("id").asText());
    assertTrue(page.has("nextCursor"));
  }

  @Test
  void sessionsAsATable() {
    Cli.Run run = cli.run("sessions");
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().startsWith("ID "), run.out());
    assertTrue(run.out().contains("s-1  active  standard      2026-11-28T10:00:00Z  -"), run.out());
  }

  @Test
  void usage() {
    api.answer("GET /v1/orgs/acme/usage", 200, "{\"month\":\"2026-11\",\"metered\":true,"
        + "\"committed\":{\"grantedSeconds\":36000,\"usedSeconds\":600,\"remainingSeconds\":35400},"
        + "\"onDemand\":{\"enabled\":true,\"seconds\":0,\"cents\":0},\"sessions\":{\"count\":3,\"billableSeconds\":600},"
        + "\"mySessions\":{\"totalSeconds\":300,\"recent\":[]},\"topImages\":[{\"image\":\"nginx:1.27\",\"runs\":4}],"
        + "\"activeSessions\":[],\"rates\":[{\"runnerClass\":\"standard\",\"centsPerHour\":50.04}]}");
    assertEquals(35400, json("usage", "--json").path("committed").path("remainingSeconds").asLong());
    Cli.Run table = cli.run("usage");
    assertEquals(0, table.exit(), table.toString());
    assertTrue(table.out().contains("9h 50m") && table.out().contains("nginx:1.27"), table.out());
    assertEquals(2, cli.run("usage", "--month", "last").exit());
  }

  @Test
  void activity() {
    api.answer("GET /v1/orgs/acme/activity?limit=50", 200, "{\"sessions\":[{\"id\":\"s-1\",\"user\":\"alice\","
        + "\"startedAt\":\"2026-11-28T10:00:00Z\",\"durationSeconds\":431,\"billableSeconds\":430,\"containers\":5}],"
        + "\"nextCursor\":null}");
    assertEquals(430, json("activity", "--json").path("sessions").path(0).path("billableSeconds").asLong());
    Cli.Run table = cli.run("activity");
    assertEquals(0, table.exit(), table.toString());
    assertTrue(table.out().contains("alice") && table.out().contains("7m 10s"), table.out());
  }

  @Test
  void auditThatIsOkAndOneThatIsNot() {
    String ok = "{\"org\":\"acme\",\"month\":\"2026-11\",\"readUpTo\":\"2026-11-28T10:00:00Z\",\"sessions\":2,"
        + "\"events\":9,\"ledgerSeconds\":14,\"replayedSeconds\":14,\"ledgerMicros\":1946,\"replayedMicros\":1946,"
        + "\"discrepancies\":[],\"chainBreaks\":[],\"digest\":\"ab12\",\"ok\":true}";
    api.answer("GET /v1/orgs/acme/audit?month=2026-11", 200, ok);
    assertTrue(json("audit", "--month", "2026-11", "--json").path("ok").asBoolean());

    api.answer("GET /v1/orgs/acme/audit?month=2026-10", 200, ok.replace("\"chainBreaks\":[]",
        "\"chainBreaks\":[{\"session\":\"s-9\",\"sequenceNr\":3,\"reason\":\"event missing from the journal\"}]")
        .replace("\"ok\":true", "\"ok\":false"));
    Cli.Run broken = cli.run("audit", "--month", "2026-10");
    assertEquals(1, broken.exit(), broken.toString());
    assertTrue(broken.out().contains("s-9") && broken.out().contains("event missing from the journal"), broken.out());
    assertTrue(broken.err().contains("found problems"), broken.err());

    Cli.Run bad = cli.run("audit", "--month", "November");
    assertEquals(2, bad.exit(), bad.toString());
  }

  @Test
  void status() {
    assertEquals("active", json("status", "s-1", "--json").path("state").asText());
  }

  @Test
  void statusOfTheBridgedSession() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      cli.store().saveState(new ConfigStore.BridgeState("s-1", listener.getLocalPort(), null));
      Cli.Run run = cli.run("status");
      assertEquals(0, run.exit(), run.toString());
      assertTrue(run.out().contains("local-1 (standard)"), run.out());
      assertTrue(run.out().contains("ports         8080→80/tcp web, 5353→53/udp\n"), run.out());
      assertTrue(run.out().contains("local bridge  127.0.0.1:" + listener.getLocalPort()), run.out());
    }
    Cli.Run closed = cli.run("status");
    assertTrue(closed.out().contains("local bridge  - (offload start opens one)"), "a closed bridge is not shown: " + closed.out());
  }

  @Test
  void statusCountsDownTheGracePeriod() {
    String idleAt = java.time.Instant.now().plusSeconds(245).toString();
    api.answer("GET /v1/sessions/s-2", 200, SESSION.replace("\"s-1\"", "\"s-2\"").replace("\"active\"", "\"grace-period\"")
        .replace("\"2026-11-28T10:05:05Z\"", "\"" + idleAt + "\""));
    Cli.Run run = cli.run("status", "s-2");
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().contains("idle in       4m 0"), run.out());
    assertTrue(run.out().contains("expires in    -"), run.out());
  }

  @Test
  void statusSaysWhyTheRunnerFailed() {
    String refused = "host key verification failed for runner vm-a at 10.0.0.5:22: it presented SHA256:new but"
        + " SHA256:old is pinned";
    api.answer("GET /v1/sessions/s-3", 200, TERMINATED.replace("\"s-1\"", "\"s-3\"")
        .replace("\"stopped\"", "\"runner-lost\",\"runnerError\":{\"runner\":\"vm-a\",\"message\":\"" + refused
            + "\",\"at\":\"2026-11-28T10:07:00Z\"}"));
    Cli.Run run = cli.run("status", "s-3");
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().contains("state         terminated (runner-lost)\n"), run.out());
    assertTrue(run.out().contains("runner error  runner vm-a: " + refused + "\n"), run.out());

    assertTrue(cli.run("status", "s-1").out().contains("runner error  -\n"), "none while nothing failed");
  }

  @Test
  void statusWatchPrintsOneDocumentPerEvent() {
    api.answer("GET /v1/sessions/s-1/events", 200, "event: state\ndata: " + SESSION + "\n\n"
        + "event: warning\ndata: {\"warning\":\"idling\",\"at\":\"2026-11-28T10:04:05Z\",\"session\":\"s-1\"}\n\n"
        + "event: state\ndata: " + TERMINATED + "\n\n");
    Cli.Run run = cli.run("status", "s-1", "--watch", "--json");
    assertEquals(0, run.exit(), run.toString());
    List<String> lines = run.out().lines().toList();
    assertEquals(3, lines.size(), run.out());
    assertEquals("idling", parse(lines.get(1)).path("warning").asText());
    assertEquals("terminated", parse(lines.get(2)).path("state").asText());

    Cli.Run human = cli.run("status", "s-1", "--watch");
    assertEquals(0, human.exit(), human.toString());
    assertTrue(human.out().contains("  active  idle in ") && human.out().contains("warning: idling")
        && human.out().contains("  terminated  idle in -"), human.out());
  }

  private static JsonNode parse(String line) {
    try {
      return ConfigStore.JSON.readTree(line);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + line, e);
    }
  }

  @Test
  void settingsGetFromTheNewestSessionsOrganisation() {
    assertEquals(300, json("settings", "--json").path("idleTimeoutSeconds").asInt());
  }

  @Test
  void settingsSetSendsOneTypedField() {
    assertEquals(600, json("settings", "set", "idleTimeoutSeconds", "600", "--org", "acme", "--json").path("idleTimeoutSeconds").asInt());
    assertEquals("{\"idleTimeoutSeconds\":600}", api.bodies.get(api.bodies.size() - 1));
  }

  @Test
  void version() {
    JsonNode version = json("version", "--json");
    assertTrue(version.path("client").isTextual());
    assertEquals("0.1.0", version.path("server").path("version").asText());
  }

  @Test
  void stopTheBridgedSession() {
    cli.store().saveState(new ConfigStore.BridgeState("s-1", 2375, null));
    assertEquals("stopped", json("stop", "--json").path("terminationReason").asText());
    assertTrue(cli.store().state().isEmpty(), "the bridge state is removed");
  }

  @Test
  void diagnose() {
    for (String state : List.of("provisioning", "active", "grace-period", "idle")) {
      api.answer("GET /v1/sessions?limit=10&state=" + state, 200, "{\"sessions\":[],\"nextCursor\":null}");
    }
    JsonNode checks = json("diagnose", "--json").path("checks");
    assertEquals(List.of("config", "server", "token", "clock", "bridge", "session"),
        checks.findValuesAsText("name"), checks.toString());
    for (JsonNode check : checks) assertTrue(check.path("ok").asBoolean(), check.toString());
  }
}
