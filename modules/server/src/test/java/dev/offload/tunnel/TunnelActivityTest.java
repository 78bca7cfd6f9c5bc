package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.session.SessionEntity;
import dev.offload.testing.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tunnel connections as the session's activity (lifecycle.md), on real signals: the shortest idle
 * timeout (10 s) and a preservation window shortened to a few seconds.
 */
class TunnelActivityTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int IDLE_TIMEOUT = 10;

  private static TestEngine engine;
  private static TestServer server;
  private static ApiClient api;

  @BeforeAll
  static void start() throws Exception {
    engine = TestEngine.tcp();
    // The engine is an echo, not Docker: with the default health command the leased runner would
    // be reported lost 30 s into a session, and these sessions live longer than that.
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"" + engine.target() + "\"",
        "offload.runners.health-command = true",
        "offload.runners.wipe-command = true",
        "offload.session.preservation-window = 4s"));
    api = server.api();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    engine.close();
  }

  @Test
  void connectionsKeepTheSessionActiveResumeItAndAreRefusedOnceItExpired() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, IDLE_TIMEOUT);
    String runner = state(session, token).path("runner").path("id").asText();

    TunnelClient open = connect(session, token);
    Tunnels.awaitState(api, session, token, "active");
    Instant pastIdleTimeout = Instant.now().plusSeconds(IDLE_TIMEOUT + 2);
    Await.until(Duration.ofSeconds(IDLE_TIMEOUT + 10), () -> state(session, token), s -> {
      assertEquals("active", s.path("state").asText(), "an open connection keeps the session busy");
      assertEquals(1, s.path("openConnections").asInt());
      return Instant.now().isAfter(pastIdleTimeout);
    }, "the idle timeout to pass with a connection open");
    assertEchoes(open, "still connected");

    JsonNode grace = Tunnels.awaitState(api, session, token, "grace-period");
    assertEquals(0, grace.path("openConnections").asInt());

    TunnelClient again = connect(session, token);
    Tunnels.awaitState(api, session, token, "active");
    assertEchoes(again, "back in grace");
    Tunnels.awaitState(api, session, token, "grace-period");
    Tunnels.awaitState(api, session, token, "idle");

    TunnelClient resuming = connect(session, token);
    JsonNode resumed = Tunnels.awaitState(api, session, token, "active");
    assertEquals(runner, resumed.path("runner").path("id").asText(), "the same runner carries on");
    assertEchoes(resumed(resuming), "resumed");

    Tunnels.awaitState(api, session, token, "idle");
    Tunnels.awaitState(api, session, token, "terminated");
    TunnelClient late = TunnelClient.connect(server.server().url(), session, token, true);
    assertEquals(1008, late.closeCode.get(30, TimeUnit.SECONDS));
    assertEquals("session_terminated", JSON.readTree(late.texts().get(0)).path("code").asText());
  }

  /**
   * A session entity that restarts (failover, rebalance) forgets its in-memory counters; the
   * node bridging its tunnel tells it again within a second, so it stays active past its idle
   * timeout instead of going idle under an open connection.
   */
  @Test
  void aRestartedSessionRelearnsItsOpenTunnels() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, IDLE_TIMEOUT);
    TunnelClient open = connect(session, token);
    Tunnels.awaitState(api, session, token, "active");

    ClusterSharding.get(server.server().system())
        .entityRefFor(SessionEntity.ENTITY_KEY, session)
        .tell(new SessionEntity.StopEntity());
    Instant pastIdleTimeout = Instant.now().plusSeconds(IDLE_TIMEOUT + 3);
    JsonNode later = Await.until(Duration.ofSeconds(IDLE_TIMEOUT + 20), () -> state(session, token),
        j -> j.path("state").asText().equals("idle") || Instant.now().isAfter(pastIdleTimeout),
        "the idle timeout to pass");
    assertEquals("active", later.path("state").asText(), later.toString());
    assertEquals(1, later.path("openConnections").asInt(), later.toString());
    assertFalse(open.closeCode.isDone(), "the tunnel stays open");
  }

  @Test
  void tunnelsOfAStoppedSessionAreClosed() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, IDLE_TIMEOUT);
    TunnelClient open = connect(session, token);
    Tunnels.awaitState(api, session, token, "active");

    assertEquals(200, api.delete("/v1/sessions/" + session, token).status());

    assertEquals(1008, open.closeCode.get(30, TimeUnit.SECONDS));
    JsonNode error = JSON.readTree(open.texts().get(open.texts().size() - 1));
    assertEquals("session_terminated", error.path("code").asText());
  }

  private static TunnelClient connect(String session, String token) throws Exception {
    return TunnelClient.connect(server.server().url(), session, token, true);
  }

  private static TunnelClient resumed(TunnelClient client) {
    assertTrue(client.texts().isEmpty(), "no refusal: " + client.texts());
    return client;
  }

  private static JsonNode state(String session, String token) {
    return api.get("/v1/sessions/" + session, token).json();
  }

  /** Sends, half-closes and reads everything back: the connection then ends normally. */
  private static void assertEchoes(TunnelClient client, String text) throws Exception {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    client.send(bytes);
    client.eof();
    assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
    assertEquals(text + new String(TestEngine.ANSWER, StandardCharsets.US_ASCII),
        new String(client.bytes(), StandardCharsets.US_ASCII));
  }
}
