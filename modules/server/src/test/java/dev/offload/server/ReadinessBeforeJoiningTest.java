package dev.offload.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.api.ApiClient.Response;
import dev.offload.testing.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A node configured for a cluster of three that finds no other node never forms a cluster on its
 * own: it stays alive but not ready, on the API port and on the management port, so no load
 * balancer or Kubernetes Service sends it requests it could not serve.
 */
class ReadinessBeforeJoiningTest {

  @Test
  void aNodeThatHasNotJoinedIsAliveButNotReady() throws Exception {
    int management = ServerProcess.freePort();
    try (TestServer node = TestServer.start(String.join("\n",
        "offload.cluster.join-self = off",
        "offload.cluster.required-contact-points = 3",
        "akka.management.http.port = " + management,
        "akka.discovery.config.services.offload.endpoints = [{ host = \"127.0.0.1\", port = " + management + " }]"))) {
      ApiClient probes = new ApiClient("http://127.0.0.1:" + management);
      Await.until(Duration.ofSeconds(30), () -> probes.get("/health/alive", null).status(), s -> s == 200,
          "the management port alive");
      // Akka Management answers a failed check with a 5xx and a text body; probes only look at the status.
      Response managementReady = probes.get("/health/ready", null);
      assertTrue(managementReady.status() >= 500, managementReady.status() + " " + managementReady.body());

      Response ready = node.api().get("/health/ready", null);
      assertEquals(503, ready.status(), ready.body());
      JsonNode checks = ready.json().path("checks");
      assertFalse(checks.path("cluster").asBoolean(), ready.body());
      assertTrue(checks.path("database").asBoolean(), ready.body());
      assertTrue(checks.path("journal").asBoolean(), ready.body());
      assertEquals(200, node.api().get("/health/alive", null).status());
    }
  }
}
