package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.runner.RunnerPool;
import dev.offload.testing.Await;
import dev.offload.tunnel.TestEngine;
import dev.offload.tunnel.TunnelClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * P9 with real processes: {@code deploy/local/cluster.sh} starts three nodes, a runner host and
 * the embedded PostgreSQL; under a steady load of session starts, tunnel traffic and stops, the
 * node hosting the runner pool (and the most sessions it could be given) is killed with SIGKILL.
 * Every session answers through the survivors within 30 s, deadlines still fire on time, no runner
 * is ever leased to two sessions (from the pool's journal), and audits equal the ledger.
 */
class ClusterFailoverIT {
  private static final Duration RECOVERY_TARGET = Duration.ofSeconds(30);
  /**
   * Long enough that sessions idle at the kill are wiped after the recovery, and sessions in their
   * grace period at the kill go idle after it.
   */
  private static final Duration PRESERVATION = Duration.ofSeconds(45);
  private static final int GRACE_SECONDS = 40;
  private static final Duration LATENESS = Duration.ofSeconds(5);
  private static final List<String> ORGS = List.of("fo-a-" + suffix(), "fo-b-" + suffix());

  private final List<ApiClient> nodes = new ArrayList<>();
  private final List<Integer> management = new ArrayList<>();
  private final Set<Integer> dead = ConcurrentHashMap.newKeySet();
  private String operator;

  @Test
  void killingThePoolsNodeUnderLoadLosesNothingAndRecoversWithin30Seconds() throws Exception {
    Path root = ServerProcess.repositoryRoot();
    Path dir = Files.createTempDirectory("offload-cluster-it");
    int base = freeBase();
    try (TestEngine engine = TestEngine.tcp()) {
      Map<String, String> env = new HashMap<>(Map.of(
          "OFFLOAD_LOCAL_CLUSTER_DIR", dir.toString(),
          "OFFLOAD_LOCAL_ENGINE", engine.target(),
          "OFFLOAD_RUNNER_HEALTH_COMMAND", "true",
          "OFFLOAD_RUNNER_WIPE_COMMAND", "true",
          "JAVA_OPTS", String.join(" ",
              "-Xmx256m", "-XX:+UseSerialGC",
              "-Doffload.session.preservation-window=" + PRESERVATION.toSeconds() + "s",
              "-Dakka.management.cluster.bootstrap.contact-point-discovery.stable-margin=1s",
              "-Dakka.management.cluster.bootstrap.contact-point-discovery.interval=500ms")));
      long starting = System.nanoTime();
      run(root, env, dir.resolve("start.log"), "start", "3", "--base-port", String.valueOf(base), "--runners", "40");
      System.out.printf("cluster.sh start 3: %d s%n", (System.nanoTime() - starting) / 1_000_000_000);
      try {
        for (int i = 0; i < 3; i++) {
          nodes.add(new ApiClient("http://127.0.0.1:" + (base + i)));
          management.add(base + 200 + i);
        }
        operator = Files.readString(dir.resolve("operator-token")).trim();
        for (String org : ORGS) {
          Response created = node(0).post("/v1/orgs", operator, "{\"id\":\"" + org + "\",\"name\":\"Failover\"}");
          assertEquals(201, created.status(), created.body());
        }
        scenario(dir, engine);
      } finally {
        run(root, env, dir.resolve("stop.log"), "stop");
      }
    }
  }

  private void scenario(Path dir, TestEngine engine) throws Exception {
    int victim = oldest();
    // Idle at the kill, their preservation window ending after the recovery.
    List<Started> idle = startSome(victim, 10);
    // Sessions that stay: most of them, if shard allocation allows, on the victim.
    List<Started> kept = new ArrayList<>();
    for (int i = 0; i < 12 && (kept.size() < 6 || !hostsTheMost(victim)); i++) {
      kept.add(start(i % 3, 3600));
    }

    AtomicBoolean loading = new AtomicBoolean(true);
    AtomicInteger cycles = new AtomicInteger();
    List<String> loadFailures = new ArrayList<>();
    ExecutorService load = Executors.newFixedThreadPool(2);
    for (int w = 0; w < 2; w++) {
      load.submit(() -> {
        while (loading.get()) {
          try {
            cycle();
            cycles.incrementAndGet();
          } catch (Throwable e) {
            synchronized (loadFailures) {
              loadFailures.add(Instant.now() + " " + e);
            }
          }
        }
      });
    }
    Map<String, Instant> expiresAt = new HashMap<>();
    for (Started s : idle) expiresAt.put(s.id(), Instant.parse(awaitState(0, s, "idle").path("expiresAt").asText()));
    Await.until(Duration.ofSeconds(60), cycles::get, c -> c >= 4, "the load to run a few cycles");
    // In their grace period at the kill, going idle after the recovery.
    List<Started> grace = startSome(victim, GRACE_SECONDS);
    Map<String, Instant> idleAt = new HashMap<>();
    for (Started s : grace) idleAt.put(s.id(), Instant.parse(awaitState(0, s, "grace-period").path("idleAt").asText()));

    // The victim hosts the pool and, if shard allocation lets it, more sessions than either other node.
    for (int i = 0; i < 10 && !hostsTheMost(victim); i++) kept.add(start(i % 3, 3600));
    Map<Integer, Integer> distribution = distribution();
    Set<String> victimShards = shardsOn(victim);
    long pid = nodePid(dir, victim);
    long killed = System.nanoTime();
    new ProcessBuilder("kill", "-KILL", String.valueOf(pid)).start().waitFor();
    dead.add(victim);
    System.out.println("SIGKILL to node " + (victim + 1) + " (runner pool); sessions per node " + distribution
        + "; deadline sessions on it: "
        + java.util.stream.Stream.concat(idle.stream(), grace.stream()).filter(x -> victimShards.contains(shardOf(x.id()))).count());

    List<Started> all = new ArrayList<>(kept);
    all.addAll(idle);
    all.addAll(grace);
    int survivor = (victim + 1) % 3;
    for (Started s : all) {
      Await.until(RECOVERY_TARGET.plusSeconds(30), () -> node(survivor).get("/v1/sessions/" + s.id(), s.token()).status(),
          status -> status == 200, "session " + s.id() + " through a survivor");
    }
    Duration recovery = Duration.ofNanos(System.nanoTime() - killed);
    System.out.printf("Recovery after SIGKILL of node %d: %.1f s until all %d sessions answered GET%n",
        victim + 1, recovery.toMillis() / 1000.0, all.size());
    assertTrue(recovery.compareTo(RECOVERY_TARGET) <= 0, "recovered in " + recovery);

    // Deadlines on time, observed in the read model so that no request wakes a session up.
    Instant last = java.util.stream.Stream.concat(idleAt.values().stream(), expiresAt.values().stream())
        .max(Instant::compareTo).orElseThrow();
    String jdbc = "jdbc:postgresql://127.0.0.1:" + (management.get(0) + 100) + "/postgres";
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
      Await.until(Duration.between(Instant.now(), last).plusSeconds(30),
          () -> past(c, idle, "terminated") + past(c, grace, "idle", "terminated"),
          done -> done == idle.size() + grace.size(), "every deadline of the idle and grace-period sessions");
      for (Started s : idle) {
        Instant at = Instant.parse(node(survivor).get("/v1/sessions/" + s.id(), s.token()).json().path("terminatedAt").asText());
        assertOnTime(s, expiresAt.get(s.id()), at);
      }
      for (Started s : grace) {
        JsonNode now = node(survivor).get("/v1/sessions/" + s.id(), s.token()).json();
        // Idle since expiresAt minus the window: when the grace period's deadline fired.
        assertOnTime(s, idleAt.get(s.id()), Instant.parse(now.path("expiresAt").asText()).minus(PRESERVATION));
      }
      loading.set(false);
      load.shutdown();
      assertTrue(load.awaitTermination(60, TimeUnit.SECONDS), "the load to stop");
      System.out.printf("Load: %d start-tunnel-stop cycles; %d failed (those in flight at the kill): %s%n",
          cycles.get(), loadFailures.size(), loadFailures);
      assertTrue(cycles.get() >= 8, "the load kept running through the failover");

      for (Started s : kept) {
        JsonNode session = node(survivor).get("/v1/sessions/" + s.id(), s.token()).json();
        assertFalse(session.path("state").asText().equals("terminated"), "kept session lost: " + session);
      }
      assertNoDoubleLease(c);
    }
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    for (String org : ORGS) {
      JsonNode audit = Await.until(Duration.ofSeconds(30),
          () -> node(survivor).get("/v1/orgs/" + org + "/audit?month=" + month, operator).json(),
          r -> r.path("ok").asBoolean() && r.path("ledgerSeconds").asLong() == r.path("replayedSeconds").asLong()
              && r.path("ledgerMicros").asLong() == r.path("replayedMicros").asLong(),
          "the audit of " + org + " to equal its ledger");
      System.out.println("Audit of " + org + ": " + audit.path("sessions").asInt() + " sessions, "
          + audit.path("ledgerSeconds").asLong() + " s charged, ledger = replay");
    }
  }

  /** One user's session: started, used through a tunnel, stopped; through any live node. */
  private void cycle() throws Exception {
    int via = liveNode();
    Started s = start(via, 3600);
    awaitState(liveNode(), s, "active", "grace-period");
    byte[] sent = new byte[64 * 1024];
    ThreadLocalRandom.current().nextBytes(sent);
    TunnelClient tunnel = TunnelClient.connect("http://127.0.0.1:" + port(liveNode()), s.id(), s.token(), true);
    tunnel.send(sent);
    tunnel.eof();
    assertEquals(1000, tunnel.closeCode.get(30, TimeUnit.SECONDS));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(sent);
    expected.write(TestEngine.ANSWER);
    assertArrayEquals(expected.toByteArray(), tunnel.bytes());
    Response stopped = node(liveNode()).delete("/v1/sessions/" + s.id(), s.token());
    assertEquals(200, stopped.status(), stopped.body());
  }

  /** Replays the pool's journal: a runner is leased again only after its release or retirement. */
  private static void assertNoDoubleLease(Connection c) throws Exception {
    ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString("akka.actor.provider = local")
        .withFallback(ConfigFactory.load()));
    try {
      Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
      Map<String, String> leasedTo = new HashMap<>();
      int leases = 0;
      try (PreparedStatement st = c.prepareStatement("SELECT event_ser_id, event_ser_manifest, event_payload "
          + "FROM event_journal WHERE persistence_id = 'runner-pool' ORDER BY sequence_number")) {
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            Object event = serialization.deserialize(rs.getBytes(3), rs.getInt(1), rs.getString(2)).get();
            if (event instanceof RunnerPool.RunnerLeased leased) {
              String holder = leasedTo.put(leased.runnerId(), leased.sessionId());
              assertTrue(holder == null, "runner " + leased.runnerId() + " leased to " + leased.sessionId()
                  + " while " + holder + " held it");
              leases++;
            } else if (event instanceof RunnerPool.RunnerReleased released) {
              leasedTo.remove(released.runnerId());
            } else if (event instanceof RunnerPool.RunnerRetired retired) {
              leasedTo.remove(retired.runnerId());
            }
          }
        }
      }
      System.out.println("Runner pool journal: " + leases + " leases, never two at once on one runner");
      assertTrue(leases > 10, "the journal holds the leases of the load");
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static void assertOnTime(Started s, Instant due, Instant happened) {
    Duration late = Duration.between(due, happened);
    assertFalse(late.isNegative(), s.id() + " wiped " + late.negated() + " early");
    assertTrue(late.compareTo(LATENESS) <= 0, s.id() + " wiped " + late + " after its deadline");
  }

  /** How many of {@code sessions} the read model shows in one of {@code states}. */
  private static int past(Connection c, List<Started> sessions, String... states) {
    int count = 0;
    try (PreparedStatement st = c.prepareStatement("SELECT state FROM sessions WHERE id = ?::uuid")) {
      for (Started s : sessions) {
        st.setString(1, s.id());
        try (ResultSet rs = st.executeQuery()) {
          if (rs.next() && List.of(states).contains(rs.getString(1))) count++;
        }
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return count;
  }

  // ---- the cluster from outside ----

  private ApiClient node(int index) {
    return nodes.get(index);
  }

  private int port(int index) {
    return management.get(index) - 200;
  }

  private int liveNode() {
    List<Integer> live = new ArrayList<>();
    for (int i = 0; i < 3; i++) if (!dead.contains(i)) live.add(i);
    return live.get(ThreadLocalRandom.current().nextInt(live.size()));
  }

  /** From Akka Management's read-only cluster routes: the oldest member hosts the singletons. */
  private int oldest() {
    JsonNode members = new ApiClient("http://127.0.0.1:" + management.get(0)).get("/cluster/members", null).json();
    String oldest = members.path("oldest").asText();
    for (int i = 0; i < 3; i++) {
      if (oldest.endsWith(":" + (management.get(i) - 100))) return i;
    }
    throw new IllegalStateException("no node is the oldest member " + members);
  }

  /** Session entities per node, from each node's shard region. */
  private Map<Integer, Integer> distribution() {
    Map<Integer, Integer> counts = new HashMap<>();
    for (int i = 0; i < 3; i++) {
      JsonNode shards = shardRegion(i);
      int entities = 0;
      for (JsonNode region : shards.path("regions")) entities += region.path("numEntities").asInt();
      counts.put(i, entities);
    }
    return counts;
  }

  /** The shards node {@code index} holds, from its management routes. */
  private Set<String> shardsOn(int index) {
    JsonNode state = shardRegion(index);
    Set<String> shards = new java.util.HashSet<>();
    for (JsonNode region : state.path("regions")) shards.add(region.path("shardId").asText());
    return shards;
  }

  /** The node's shard region as its management routes show it; they answer 500 when its ask times out. */
  private JsonNode shardRegion(int index) {
    ApiClient client = new ApiClient("http://127.0.0.1:" + management.get(index));
    return Await.until(Duration.ofSeconds(20), () -> client.get("/cluster/shards/Session", null),
        r -> r.status() == 200, "the shard region of node " + (index + 1)).json();
  }

  /** Akka's default shard of an entity id, over the configured 100 shards. */
  private static String shardOf(String sessionId) {
    return String.valueOf(Math.abs(sessionId.hashCode()) % 100);
  }

  /** At least two sessions, more until one of them runs on node {@code on}. */
  private List<Started> startSome(int on, int idleTimeoutSeconds) {
    List<Started> started = new ArrayList<>();
    boolean there = false;
    for (int i = 0; i < 8 && (started.size() < 2 || !there); i++) {
      Started s = start(i % 3, idleTimeoutSeconds);
      started.add(s);
      there |= shardsOn(on).contains(shardOf(s.id()));
    }
    return started;
  }

  private boolean hostsTheMost(int node) {
    Map<Integer, Integer> counts = distribution();
    return counts.entrySet().stream().allMatch(e -> e.getKey() == node || e.getValue() < counts.get(node));
  }

  private long nodePid(Path dir, int index) throws IOException {
    for (String line : Files.readAllLines(dir.resolve("cluster.state"))) {
      String[] f = line.split(" ");
      if (f[0].equals("node") && Integer.parseInt(f[1]) == index + 1) return Long.parseLong(f[2]);
    }
    throw new IllegalStateException("node " + (index + 1) + " is not in cluster.state");
  }

  private Started start(int via, int idleTimeoutSeconds) {
    String org = ORGS.get(ThreadLocalRandom.current().nextInt(ORGS.size()));
    String user = "u" + suffix();
    Response token = node(via).post("/v1/orgs/" + org + "/tokens", operator, "{\"user\":\"" + user + "\",\"role\":\"member\"}");
    assertEquals(201, token.status(), token.body());
    String secret = token.json().get("token").asText();
    Response created = node(via).post("/v1/sessions", secret, "{\"idleTimeoutSeconds\": " + idleTimeoutSeconds + "}");
    assertEquals(201, created.status(), created.body());
    return new Started(created.json().get("id").asText(), secret);
  }

  private JsonNode awaitState(int via, Started s, String... states) {
    List<String> wanted = List.of(states);
    return Await.until(Duration.ofSeconds(40), () -> node(via).get("/v1/sessions/" + s.id(), s.token()).json(),
        j -> wanted.contains(j.path("state").asText()), "session " + s.id() + " in " + wanted);
  }

  private static void run(Path root, Map<String, String> env, Path log, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(root.resolve("deploy/local/cluster.sh").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(env);
    Process process = builder.start();
    assertTrue(process.waitFor(300, TimeUnit.SECONDS), "cluster.sh " + args[0] + " did not return; " + log);
    assertEquals(0, process.exitValue(), "cluster.sh " + args[0] + ":\n" + Files.readString(log));
  }

  /** A base port whose HTTP, remoting, management and database ports are all free now. */
  private static int freeBase() throws IOException {
    Random random = new Random();
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 20000 + random.nextInt(20000);
      if (free(base, base + 1, base + 2, base + 100, base + 101, base + 102, base + 200, base + 201, base + 202, base + 300)) {
        return base;
      }
    }
    throw new IllegalStateException("no free range of ports");
  }

  private static boolean free(int... ports) {
    for (int port : ports) {
      try (ServerSocket socket = new ServerSocket(port)) {
        socket.setReuseAddress(true);
      } catch (IOException taken) {
        return false;
      }
    }
    return true;
  }

  private static String suffix() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  private record Started(String id, String token) {}
}
