package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SessionWatchTest {
  private static final String ACTIVE = "event: state\ndata: {\"id\":\"s-1\",\"state\":\"active\"}\n\n";
  private static final String TERMINATED =
      "event: state\ndata: {\"id\":\"s-1\",\"state\":\"terminated\",\"terminationReason\":\"idle-expired\"}\n\n";

  @Test
  void reportsTheEndAndFollowsAgainAfterABrokenStream() throws Exception {
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions/s-1/events", 200, ACTIVE);
      CompletableFuture<JsonNode> ended = new CompletableFuture<>();
      SessionWatch.start(new ApiClient(api.url(), "tok", null), "s-1", Duration.ofMillis(10), ports -> { },
          ended::complete);

      Await.until(Duration.ofSeconds(10), () -> api.requests.size() >= 2, api.requests::toString);
      assertFalse(ended.isDone(), "a stream that ends without terminated is not the session's end");

      api.answer("GET /v1/sessions/s-1/events", 200, ACTIVE + TERMINATED);
      assertEquals("idle-expired", ended.get(10, TimeUnit.SECONDS).path("terminationReason").asText());
    }
  }

  @Test
  void thePortsOfEveryStateAndPortsEventAreHandedOn() throws Exception {
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions/s-1/events", 200,
          "event: state\ndata: {\"id\":\"s-1\",\"state\":\"active\",\"ports\":[]}\n\n"
              + "event: ports\ndata: {\"session\":\"s-1\",\"ports\":[{\"container\":\"c1\",\"hostPort\":8080,\"protocol\":\"tcp\"}]}\n\n"
              + "event: warning\ndata: {\"warning\":\"idling\",\"at\":\"2026-11-28T10:00:00Z\",\"session\":\"s-1\"}\n\n"
              + TERMINATED);
      List<String> seen = new CopyOnWriteArrayList<>();
      CompletableFuture<JsonNode> ended = new CompletableFuture<>();
      SessionWatch.start(new ApiClient(api.url(), "tok", null), "s-1", Duration.ofMillis(10),
          ports -> seen.add(ports.toString()), ended::complete);
      ended.get(10, TimeUnit.SECONDS);
      assertEquals(List.of("[]", "[{\"container\":\"c1\",\"hostPort\":8080,\"protocol\":\"tcp\"}]", ""), seen,
          "the first state, the change, and the terminated state (without a list: nothing to forward)");
    }
  }

  @Test
  void aTerminatedSessionClosesItsBridge() throws Exception {
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions/s-1/events", 200, TERMINATED);
      ApiClient client = new ApiClient(api.url(), "tok", null);
      LocalBridge bridge = new LocalBridge(client, "s-1", 0, line -> { });
      CompletableFuture<Void> serving = CompletableFuture.runAsync(bridge::serve);
      SessionWatch.start(client, "s-1", Duration.ofMillis(10), ports -> { }, ended -> bridge.close());
      serving.get(10, TimeUnit.SECONDS);
      assertFalse(LocalBridge.listening(bridge.port()));
    }
  }
}
