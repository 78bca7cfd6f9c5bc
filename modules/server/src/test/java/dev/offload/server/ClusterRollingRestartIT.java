package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.LocalCluster.Started;
import dev.offload.testing.Await;
import dev.offload.tunnel.TestEngine;
import dev.offload.tunnel.TunnelClient;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * A rolling restart with processes: each of three nodes in turn leaves gracefully and starts
 * again while sessions start, carry tunnel traffic and stop through whichever node a client
 * picks. A client that retries what failed (as the CLI does, with an idempotency key for
 * creates) sees no failure, and no session is lost or changes runner.
 */
class ClusterRollingRestartIT {
  /** As long as a client keeps retrying one call: a node's leave plus another node's answer. */
  private static final Duration RETRYING = Duration.ofSeconds(30);

  private LocalCluster cluster;
  private String org;
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();

  @Test
  void restartingEveryNodeInTurnUnderLoadLosesNothingAndFailsNoRetriedCall() throws Exception {
    try (TestEngine engine = TestEngine.tcp();
        LocalCluster started = LocalCluster.start(3, 30, engine.target(), "")) {
      cluster = started;
      org = cluster.organisation();
      List<Started> kept = new ArrayList<>();
      for (int i = 0; i < 6; i++) kept.add(cluster.start(org, i % 3, 3600));
      Map<String, String> runners = new HashMap<>();
      for (Started s : kept) {
        runners.put(s.id(), cluster.awaitState(0, s, "active", "grace-period").path("runner").path("id").asText());
      }

      AtomicBoolean loading = new AtomicBoolean(true);
      AtomicInteger cycles = new AtomicInteger();
      List<String> failures = new ArrayList<>();
      ExecutorService load = Executors.newFixedThreadPool(2);
      for (int w = 0; w < 2; w++) {
        load.submit(() -> {
          while (loading.get()) {
            try {
              cycle();
              cycles.incrementAndGet();
            } catch (Throwable e) {
              synchronized (failures) {
                failures.add(Instant.now() + " " + e);
              }
            }
          }
        });
      }
      Await.until(Duration.ofSeconds(60), cycles::get, c -> c >= 4, "the load to run a few cycles");
      for (int node = 0; node < cluster.size(); node++) {
        long restarting = System.nanoTime();
        cluster.restart(node);
        System.out.printf("Node %d left, restarted and was ready again in %d ms; %d cycles so far%n",
            node + 1, (System.nanoTime() - restarting) / 1_000_000, cycles.get());
      }
      int afterRestarts = cycles.get();
      Await.until(Duration.ofSeconds(60), cycles::get, c -> c >= afterRestarts + 4, "the load to go on");
      loading.set(false);
      load.shutdown();
      assertTrue(load.awaitTermination(60, TimeUnit.SECONDS), "the load to stop");
      System.out.printf("Load: %d cycles, %d API calls, %d retried; failed after retrying: %s%n",
          cycles.get(), calls.get(), retries.get(), failures);
      assertEquals(List.of(), failures);

      for (Started s : kept) {
        for (int node = 0; node < cluster.size(); node++) {
          JsonNode session = cluster.node(node).get("/v1/sessions/" + s.id(), s.token()).json();
          assertTrue(List.of("active", "grace-period").contains(session.path("state").asText()), session.toString());
          assertEquals(runners.get(s.id()), session.path("runner").path("id").asText(), "the same runner");
        }
      }
    }
  }

  /** One user's session through random nodes: created, used through a tunnel, stopped. */
  private void cycle() throws Exception {
    String user = "u" + LocalCluster.suffix();
    String token = call(node -> cluster.node(node).post("/v1/orgs/" + org + "/tokens", cluster.operator(),
        "{\"user\":\"" + user + "\",\"role\":\"member\"}")).json().get("token").asText();
    String key = UUID.randomUUID().toString();
    String id = call(node -> cluster.node(node).post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 3600}",
        Map.of("Idempotency-Key", key))).json().get("id").asText();
    Await.until(Duration.ofSeconds(40), () -> call(node -> cluster.node(node).get("/v1/sessions/" + id, token)).json(),
        s -> List.of("active", "grace-period").contains(s.path("state").asText()), "session " + id + " active");
    byte[] sent = new byte[64 * 1024];
    ThreadLocalRandom.current().nextBytes(sent);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(sent);
    expected.write(TestEngine.ANSWER);
    // A tunnel ended by a leaving node (1001) is opened again, as the CLI's next connection would be.
    Await.until(RETRYING, () -> echoed(id, token, sent, expected.toByteArray()), ok -> ok, "a tunnel echo of " + id);
    Response stopped = call(node -> cluster.node(node).delete("/v1/sessions/" + id, token));
    assertEquals("terminated", stopped.json().path("state").asText(), stopped.body());
  }

  private boolean echoed(String id, String token, byte[] sent, byte[] expected) {
    calls.incrementAndGet();
    try {
      TunnelClient tunnel = TunnelClient.connect("http://127.0.0.1:" + cluster.httpPort(randomNode()), id, token, true);
      tunnel.send(sent);
      tunnel.eof();
      if (tunnel.closeCode.get(30, TimeUnit.SECONDS) == 1000 && Arrays.equals(expected, tunnel.bytes())) return true;
    } catch (Exception e) {
      // Refused, reset or closed early: the next attempt goes through another node.
    }
    retries.incrementAndGet();
    return false;
  }

  /** A call a client retries through another node while it fails to connect or gets a 5xx. */
  private Response call(IntFunction<Response> request) {
    calls.incrementAndGet();
    AtomicInteger attempts = new AtomicInteger();
    Response answer = Await.until(RETRYING, () -> {
      if (attempts.incrementAndGet() > 1) retries.incrementAndGet();
      try {
        return request.apply(randomNode());
      } catch (AssertionError unreachable) {
        return null;
      }
    }, r -> r != null && r.status() < 500, "an answer other than 5xx");
    assertTrue(answer.status() < 400, answer.body());
    return answer;
  }

  private int randomNode() {
    return ThreadLocalRandom.current().nextInt(cluster.size());
  }
}
