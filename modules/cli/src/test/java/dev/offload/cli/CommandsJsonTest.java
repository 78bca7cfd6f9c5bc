package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every command's {@code --json} prints the server's JSON, parseable, and nothing else. */
class CommandsJsonTest {
  private static final String SESSION = "{\"id\":\"s-1\",\"org\":\"acme\",\"user\":\"alice\",\"state\":\"active\","
      + "\"runnerClass\":\"standard\",\"runner\":{\"id\":\"local-1\"},\"idleTimeoutSeconds\":300,"
      + "\"createdAt\":\"2026-11-28T10:00:00Z\",\"activatedAt\":\"2026-11-28T10:00:05Z\",\"lastActivityAt\":null,"
      + "\"idleAt\":\"2026-11-28T10:05:05Z\",\"expiresAt\":null,\"terminatedAt\":null,\"terminationReason\":null,"
      + "\"openConnections\":0,\"runningContainers\":0,\"containersStarted\":0,\"ports\":[],"
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
  void status() {
    assertEquals("active", json("status", "s-1", "--json").path("state").asText());
  }

  @Test
  void statusOfTheBridgedSession() {
    cli.store().saveState(new ConfigStore.BridgeState("s-1", 2375, null));
    Cli.Run run = cli.run("status");
    assertEquals(0, run.exit(), run.toString());
    assertTrue(run.out().contains("local-1 (standard)") && run.out().contains("127.0.0.1:2375"), run.out());
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
    JsonNode checks = json("diagnose", "--json").path("checks");
    assertEquals(java.util.List.of("config", "server", "token", "clock", "bridge"),
        checks.findValuesAsText("name"), checks.toString());
    for (JsonNode check : checks) assertTrue(check.path("ok").asBoolean(), check.toString());
  }
}
