package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.testing.Await;
import dev.offload.tunnel.TestEngine;
import dev.offload.tunnel.TunnelClient;
import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three nodes in one JVM on one PostgreSQL, formed by cluster bootstrap, with their runners in a
 * runner host of their own: any node serves any session, whichever nodes host the session and the
 * runner pool; a node leaving gracefully hands its sessions, leases and timers to the others.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration PRESERVATION = Duration.ofSeconds(8);
  /** How late a deadline may fire: the entity's timer plus the move of its shard. */
  private static final Duration LATENESS = Duration.ofSeconds(4);

  private static final String RELEASE = "1.4.2";

  private TestEngine engine;
  private TestCluster cluster;
  private String org;

  @BeforeAll
  void start() throws Exception {
    engine = TestEngine.tcp();
    cluster = TestCluster.start(3, 40, engine.target(), String.join("\n",
        "offload.session.preservation-window = " + PRESERVATION.toSeconds() + "s",
        "offload.cluster.app-version = \"" + RELEASE + "\"",
        "offload.auth.token-cache-ttl = 1h"));
    org = "org-" + UUID.randomUUID().toString().substring(0, 8);
    Response created = api(0).post("/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"" + org + "\",\"name\":\"Acme\"}");
    assertEquals(201, created.status(), created.body());
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) cluster.close();
    engine.close();
  }

  @Test
  @Order(0)
  void everyNodeAnnouncesItsRelease() {
    for (int node = 0; node < cluster.size(); node++) {
      var members = akka.cluster.typed.Cluster.get(cluster.node(node).server().system()).state().getMembers();
      for (akka.cluster.Member member : members) {
        assertEquals(akka.util.Version.apply(RELEASE), member.appVersion(), member.toString());
      }
    }
  }

  @Test
  @Order(1)
  void sessionsSpreadOverTheNodesAndAnyNodeServesThem() throws Exception {
    List<Started> started = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      started.add(start(i % 3, 300));
    }
    for (Started s : started) awaitState(1, s, "active", "grace-period");
    Set<Integer> hosting = new HashSet<>();
    Map<String, Integer> hostOf = new HashMap<>();
    for (int node = 0; node < 3; node++) {
      for (String id : cluster.sessionsOn(node)) hostOf.put(id, node);
    }
    for (Started s : started) hosting.add(hostOf.get(s.id()));
    assertTrue(hosting.size() >= 2, "9 sessions over 3 nodes, hosted by " + hosting);

    // A session created through node 1 whose entity, the runner pool and the tunnel's node differ.
    int pool = cluster.oldest();
    Started session = start(0, 300);
    awaitState(0, session, "active", "grace-period");
    int entityNode = Await.until(WAIT, () -> hostOfSession(session.id()), n -> n >= 0, "the session's node");
    for (int i = 0; entityNode == pool && i < 10; i++) {
      Started other = start(0, 300);
      awaitState(0, other, "active", "grace-period");
      session.replaceWith(other);
      entityNode = Await.until(WAIT, () -> hostOfSession(session.id()), n -> n >= 0, "the session's node");
    }
    assertTrue(entityNode != pool, "a session away from the pool's node");
    int via = 3 - pool - entityNode;

    JsonNode read = api(via).get("/v1/sessions/" + session.id(), session.token()).json();
    assertEquals(session.id(), read.path("id").asText());
    byte[] sent = new byte[3 * 1024 * 1024];
    new Random(11).nextBytes(sent);
    TunnelClient tunnel = TunnelClient.connect(cluster.node(via).server().url(), session.id(), session.token(), true);
    tunnel.send(sent);
    tunnel.eof();
    assertEquals(1000, tunnel.closeCode.get(30, TimeUnit.SECONDS));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(sent);
    expected.write(TestEngine.ANSWER);
    assertArrayEquals(expected.toByteArray(), tunnel.bytes(), "the engine's echo through node " + (via + 1));

    Response stopped = api(via).delete("/v1/sessions/" + session.id(), session.token());
    assertEquals(200, stopped.status(), stopped.body());
    assertEquals("terminated", stopped.json().path("state").asText());
    assertEquals("terminated", api(entityNode).get("/v1/sessions/" + session.id(), session.token()).json().path("state").asText());
  }

  @Test
  @Order(2)
  void aTokenRevokedThroughOneNodeIsRefusedAtOnceByTheNodesThatRememberIt() throws Exception {
    Response issued = api(0).post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
        "{\"user\":\"leaver\",\"role\":\"member\"}");
    String token = issued.json().get("token").asText();
    for (int node = 0; node < cluster.size(); node++) {
      assertEquals(200, api(node).get("/v1/sessions", token).status(), "node " + node + " knows the token");
    }
    assertEquals(204, api(1).delete("/v1/orgs/" + org + "/tokens/" + issued.json().get("id").asText(),
        TestServer.OPERATOR_TOKEN).status());
    assertEquals(401, api(1).get("/v1/sessions", token).status(), "refused at once where it was revoked");
    for (int node = 0; node < cluster.size(); node++) {
      int n = node;
      // The nodes would remember the token for an hour here: only the pushed revocation refuses it.
      Await.until(Duration.ofSeconds(5), () -> api(n).get("/v1/sessions", token).status(), s -> s == 401,
          "node " + n + " to refuse the revoked token");
    }
  }

  @Test
  @Order(3)
  void theRunnerPoolsNodeLeavingGracefullyLosesNoSessionLeaseOrDeadline() throws Exception {
    int pool = cluster.oldest();
    int survivor = (pool + 1) % 3;
    // Sessions that keep their runner, and sessions whose idle and wipe deadlines come after the leave.
    List<Started> kept = startSome(pool, 3600);
    List<Started> ending = startSome(pool, 10);
    Map<String, Instant> idleAt = new HashMap<>();
    for (Started s : ending) {
      JsonNode grace = awaitState(survivor, s, "grace-period");
      idleAt.put(s.id(), Instant.parse(grace.path("idleAt").asText()));
    }
    for (Started s : kept) awaitState(survivor, s, "active", "grace-period");
    Set<String> moved = cluster.sessionsOn(pool);
    assertTrue(ending.stream().anyMatch(s -> moved.contains(s.id())) && kept.stream().anyMatch(s -> moved.contains(s.id())),
        "sessions of both kinds on the leaving node " + moved);
    Map<String, String> leasesBefore = leases(survivor);
    Started tunnelled = kept.get(0);
    TunnelClient open = TunnelClient.connect(cluster.node(pool).server().url(), tunnelled.id(), tunnelled.token(), false);
    Await.until(WAIT, () -> api(survivor).get("/v1/sessions/" + tunnelled.id(), tunnelled.token()).json(),
        s -> s.path("openConnections").asInt() == 1, "the tunnel counted by its session");

    long leaving = System.nanoTime();
    cluster.leave(pool);

    // The leaving node drained its tunnel: 1001 after an error message, and the session knows it is gone.
    assertEquals(1001, open.closeCode.get(30, TimeUnit.SECONDS));
    assertTrue(open.texts().stream().anyMatch(t -> t.contains("\"unavailable\"")), open.texts().toString());
    Await.until(WAIT, () -> api(survivor).get("/v1/sessions/" + tunnelled.id(), tunnelled.token()).json(),
        s -> s.path("openConnections").asInt() == 0, "the drained tunnel uncounted");

    for (Started s : kept) {
      Response read = Await.until(WAIT, () -> api(survivor).get("/v1/sessions/" + s.id(), s.token()),
          r -> r.status() == 200, "session " + s.id() + " through a survivor");
      assertTrue(List.of("active", "grace-period").contains(read.json().path("state").asText()), read.body());
      assertEquals(leasesBefore.get(s.id()), read.json().path("runner").path("id").asText(), "the same runner");
    }
    System.out.printf("Sessions answered through the survivors %d ms after the leave began%n",
        (System.nanoTime() - leaving) / 1_000_000);
    Map<String, String> leasesAfter = Await.until(WAIT, () -> leases(survivor),
        l -> kept.stream().allMatch(s -> l.containsKey(s.id())), "the pool back with its leases");
    for (Started s : kept) assertEquals(leasesBefore.get(s.id()), leasesAfter.get(s.id()), "lease of " + s.id());

    // Nothing asks the ending sessions anything until their deadlines have passed: their timers
    // fire on the node their shard moved to, woken by remember-entities alone.
    Instant last = idleAt.values().stream().max(Instant::compareTo).orElseThrow().plus(PRESERVATION);
    try (Connection c = cluster.node(survivor).connect()) {
      Await.until(Duration.between(Instant.now(), last).plus(WAIT), () -> terminated(c, ending),
          n -> n == ending.size(), "every ending session terminated");
    }
    for (Started s : ending) {
      JsonNode done = api(survivor).get("/v1/sessions/" + s.id(), s.token()).json();
      Instant due = idleAt.get(s.id()).plus(PRESERVATION);
      Duration late = Duration.between(due, Instant.parse(done.path("terminatedAt").asText()));
      assertFalse(late.isNegative(), s.id() + " wiped before its deadline: " + done);
      assertTrue(late.compareTo(LATENESS) <= 0, s.id() + " wiped " + late + " after its deadline"
          + (moved.contains(s.id()) ? " (moved)" : ""));
    }
  }

  // ---- helpers ----

  private ApiClient api(int node) {
    return cluster.node(node).api();
  }

  /** A session of a new user of the organisation, created through node {@code node}. */
  private Started start(int node, int idleTimeoutSeconds) {
    String user = "u" + UUID.randomUUID().toString().substring(0, 8);
    Response token = api(node).post("/v1/orgs/" + org + "/tokens", TestServer.OPERATOR_TOKEN,
        "{\"user\":\"" + user + "\",\"role\":\"member\"}");
    assertEquals(201, token.status(), token.body());
    String secret = token.json().get("token").asText();
    Response created = api(node).post("/v1/sessions", secret, "{\"idleTimeoutSeconds\": " + idleTimeoutSeconds + "}");
    assertEquals(201, created.status(), created.body());
    return new Started(created.json().get("id").asText(), secret);
  }

  /** At least three sessions, and more until two of them run on node {@code on}. */
  private List<Started> startSome(int on, int idleTimeoutSeconds) throws Exception {
    List<Started> started = new ArrayList<>();
    int there = 0;
    for (int i = 0; i < 12 && (started.size() < 3 || there < 2); i++) {
      Started s = start(i % 3, idleTimeoutSeconds);
      started.add(s);
      if (cluster.sessionsOn(on).contains(s.id())) there++;
    }
    return started;
  }

  private JsonNode awaitState(int node, Started session, String... states) {
    List<String> wanted = List.of(states);
    return Await.until(WAIT, () -> api(node).get("/v1/sessions/" + session.id(), session.token()).json(),
        s -> wanted.contains(s.path("state").asText()), "session " + session.id() + " in " + wanted);
  }

  private int hostOfSession(String id) {
    try {
      for (int node = 0; node < cluster.size(); node++) {
        if (cluster.sessionsOn(node).contains(id)) return node;
      }
      return -1;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Session id to runner id, for every leased runner; fails if a session holds two. */
  private Map<String, String> leases(int node) {
    Response runners = api(node).get("/v1/runners", TestServer.OPERATOR_TOKEN);
    assertEquals(200, runners.status(), runners.body());
    Map<String, String> leases = new HashMap<>();
    for (JsonNode runner : runners.json().path("runners")) {
      if (runner.path("session").isTextual()) {
        String previous = leases.put(runner.path("session").asText(), runner.path("id").asText());
        assertTrue(previous == null, "session " + runner.path("session").asText() + " holds two runners");
      }
    }
    return leases;
  }

  /** From the read model, so that asking does not wake the sessions up. */
  private static int terminated(Connection c, List<Started> sessions) {
    int count = 0;
    try (PreparedStatement st = c.prepareStatement("SELECT state FROM sessions WHERE id = ?::uuid")) {
      for (Started s : sessions) {
        st.setString(1, s.id());
        try (ResultSet rs = st.executeQuery()) {
          if (rs.next() && rs.getString(1).equals("terminated")) count++;
        }
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return count;
  }

  /** A session and its user's token; the first test swaps in another until one fits. */
  private static final class Started {
    private String id;
    private String token;

    Started(String id, String token) {
      this.id = id;
      this.token = token;
    }

    String id() {
      return id;
    }

    String token() {
      return token;
    }

    void replaceWith(Started other) {
      this.id = other.id;
      this.token = other.token;
    }
  }
}
