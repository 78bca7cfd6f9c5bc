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
import dev.offload.server.LocalCluster.Started;
import dev.offload.testing.Await;
import dev.offload.tunnel.TestEngine;
import dev.offload.tunnel.TunnelClient;
import java.io.ByteArrayOutputStream;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
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

  private final Set<Integer> dead = ConcurrentHashMap.newKeySet();
  private LocalCluster cluster;
  private List<String> orgs;

  @Test
  void killingThePoolsNodeUnderLoadLosesNothingAndRecoversWithin30Seconds() throws Exception {
    try (TestEngine engine = TestEngine.tcp();
        LocalCluster started = LocalCluster.start(3, 40, engine.target(),
            "-Doffload.session.preservation-window=" + PRESERVATION.toSeconds() + "s")) {
      cluster = started;
      orgs = List.of(cluster.organisation(), cluster.organisation());
      scenario();
    }
  }

  private void scenario() throws Exception {
    int victim = cluster.oldest(0);
    // Idle at the kill, their preservation window ending after the recovery.
    List<Started> idle = startSome(victim, 10);
    List<Started> kept = new ArrayList<>();
    for (int i = 0; i < 6; i++) kept.add(start(i % 3, 3600));

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
    for (Started s : idle) expiresAt.put(s.id(), Instant.parse(cluster.awaitState(0, s, "idle").path("expiresAt").asText()));
    Await.until(Duration.ofSeconds(60), cycles::get, c -> c >= 4, "the load to run a few cycles");
    // In their grace period at the kill, going idle after the recovery.
    List<Started> grace = startSome(victim, GRACE_SECONDS);
    Map<String, Instant> idleAt = new HashMap<>();
    for (Started s : grace) idleAt.put(s.id(), Instant.parse(cluster.awaitState(0, s, "grace-period").path("idleAt").asText()));

    // The victim hosts the pool and, if shard allocation lets it, more sessions than either other node.
    for (int i = 0; i < 10 && !hostsTheMost(victim); i++) kept.add(start(i % 3, 3600));
    Map<Integer, Integer> distribution = cluster.distribution(Set.of(0, 1, 2));
    Set<String> victimShards = cluster.shardsOn(victim);
    long killed = System.nanoTime();
    cluster.kill(victim);
    dead.add(victim);
    System.out.println("SIGKILL to node " + (victim + 1) + " (runner pool); sessions per node " + distribution
        + "; deadline sessions on it: " + Stream.concat(idle.stream(), grace.stream())
            .filter(x -> victimShards.contains(LocalCluster.shardOf(x.id()))).count());

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
    Instant last = Stream.concat(idleAt.values().stream(), expiresAt.values().stream())
        .max(Instant::compareTo).orElseThrow();
    try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(), "postgres", "")) {
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
    for (String org : orgs) {
      JsonNode audit = Await.until(Duration.ofSeconds(30),
          () -> node(survivor).get("/v1/orgs/" + org + "/audit?month=" + month, cluster.operator()).json(),
          r -> r.path("ok").asBoolean() && r.path("ledgerSeconds").asLong() == r.path("replayedSeconds").asLong()
              && r.path("ledgerMicros").asLong() == r.path("replayedMicros").asLong(),
          "the audit of " + org + " to equal its ledger");
      System.out.println("Audit of " + org + ": " + audit.path("sessions").asInt() + " sessions, "
          + audit.path("ledgerSeconds").asLong() + " s charged, ledger = replay");
    }
  }

  /** One user's session: started, used through a tunnel, stopped; through any live node. */
  private void cycle() throws Exception {
    Started s = start(liveNode(), 3600);
    cluster.awaitState(liveNode(), s, "active", "grace-period");
    byte[] sent = new byte[64 * 1024];
    ThreadLocalRandom.current().nextBytes(sent);
    TunnelClient tunnel = TunnelClient.connect("http://127.0.0.1:" + cluster.httpPort(liveNode()), s.id(), s.token(), true);
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
          + "FROM event_journal WHERE persistence_id = 'runner-pool' ORDER BY sequence_number");
          ResultSet rs = st.executeQuery()) {
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
      System.out.println("Runner pool journal: " + leases + " leases, never two at once on one runner");
      assertTrue(leases > 10, "the journal holds the leases of the load");
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static void assertOnTime(Started s, Instant due, Instant happened) {
    Duration late = Duration.between(due, happened);
    assertFalse(late.isNegative(), s.id() + " changed state " + late.negated() + " early");
    assertTrue(late.compareTo(LATENESS) <= 0, s.id() + " changed state " + late + " after its deadline");
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

  /** At least two sessions, more until one of them runs on node {@code on}. */
  private List<Started> startSome(int on, int idleTimeoutSeconds) {
    List<Started> started = new ArrayList<>();
    boolean there = false;
    for (int i = 0; i < 8 && (started.size() < 2 || !there); i++) {
      Started s = start(i % 3, idleTimeoutSeconds);
      started.add(s);
      there |= cluster.shardsOn(on).contains(LocalCluster.shardOf(s.id()));
    }
    return started;
  }

  private boolean hostsTheMost(int node) {
    Map<Integer, Integer> counts = cluster.distribution(Set.of(0, 1, 2));
    return counts.entrySet().stream().allMatch(e -> e.getKey() == node || e.getValue() < counts.get(node));
  }

  private Started start(int via, int idleTimeoutSeconds) {
    return cluster.start(orgs.get(ThreadLocalRandom.current().nextInt(orgs.size())), via, idleTimeoutSeconds);
  }

  private ApiClient node(int index) {
    return cluster.node(index);
  }

  private int liveNode() {
    List<Integer> live = IntStream.range(0, cluster.size()).filter(i -> !dead.contains(i)).boxed()
        .collect(Collectors.toList());
    return live.get(ThreadLocalRandom.current().nextInt(live.size()));
  }
}
