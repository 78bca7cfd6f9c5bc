package dev.offload.webhook;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Webhooks: every state change of a session reaches a receiver, signed and in order, even after an outage. */
class WebhooksTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestServer server;
  private static ApiClient api;
  private static HttpServer receiver;
  private static final List<Received> received = Collections.synchronizedList(new ArrayList<>());
  private static final List<String> refusedIds = Collections.synchronizedList(new ArrayList<>());
  private static final AtomicBoolean down = new AtomicBoolean();
  private static int orgs;

  record Received(String deliveryId, String signature, String body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }
  }

  @BeforeAll
  static void start() throws Exception {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/hook", exchange -> {
      String id = exchange.getRequestHeaders().getFirst("Offload-Delivery-Id");
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      if (down.get()) {
        refusedIds.add(id);
        exchange.sendResponseHeaders(503, -1);
      } else {
        received.add(new Received(id, exchange.getRequestHeaders().getFirst("Offload-Signature"), body));
        exchange.sendResponseHeaders(204, -1);
      }
      exchange.close();
    });
    receiver.start();
    server = TestServer.start(String.join("\n",
        "offload.webhooks.allow-loopback-http = on",
        "offload.webhooks.interval = 200ms",
        "offload.webhooks.first-retry = 500ms",
        "offload.billing.enforce-interval = 500ms"));
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
    receiver.stop(0);
  }

  private record Org(String id, String owner, String member) {}

  private static Org newOrg() {
    String id = "hooks-" + (++orgs);
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"" + id + "\"}").status());
    return new Org(id,
        api.post("/v1/orgs/" + id + "/tokens", OP, "{\"user\":\"o\",\"role\":\"owner\"}").json().get("token").asText(),
        api.post("/v1/orgs/" + id + "/tokens", OP, "{\"user\":\"m\",\"role\":\"member\"}").json().get("token").asText());
  }

  private static String url() {
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
  }

  /** Runs a session through start → running → stop and returns its id. */
  private static String lifecycle(Org org) {
    String id = api.post("/v1/sessions", org.member(), "{}").json().get("id").asText();
    Await.until(Duration.ofSeconds(15), () -> api.get("/v1/sessions/" + id, org.member()).json().get("state").asText(),
        s -> !s.equals("provisioning"), "the session to run");
    api.delete("/v1/sessions/" + id, org.member());
    return id;
  }

  private static List<Received> of(String session) {
    synchronized (received) {
      return received.stream().filter(r -> r.json().path("session").path("id").asText().equals(session)).toList();
    }
  }

  private static List<String> states(List<Received> deliveries) {
    return deliveries.stream().map(r -> r.json().path("session").path("state").asText()).toList();
  }

  @Test
  void registrationIsValidated() {
    Org org = newOrg();
    assertEquals("url", api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(),
        "{\"url\":\"ftp://example.com/x\",\"events\":[\"session.state\"]}").errorField());
    assertEquals("url", api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(),
        "{\"url\":\"http://example.com/x\",\"events\":[\"session.state\"]}").errorField(), "plain http only to loopback");
    assertEquals("events", api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(),
        "{\"url\":\"" + url() + "\",\"events\":[\"session.everything\"]}").errorField());
    assertEquals(403, api.post("/v1/orgs/" + org.id() + "/webhooks", org.member(),
        "{\"url\":\"" + url() + "\",\"events\":[\"session.state\"]}").status());
    assertEquals(404, api.get("/v1/orgs/" + org.id() + "/webhooks", newOrg().owner()).status());

    JsonNode registered = api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(),
        "{\"url\":\"" + url() + "\",\"events\":[\"session.state\",\"usage.warning\"]}").json();
    assertTrue(registered.get("secret").asText().startsWith("whsec_"));
    JsonNode listed = api.get("/v1/orgs/" + org.id() + "/webhooks", org.owner()).json().get("webhooks");
    assertEquals(1, listed.size());
    assertFalse(listed.get(0).has("secret"), "the secret is shown once");
    assertEquals(204, api.delete("/v1/orgs/" + org.id() + "/webhooks/" + registered.get("id").asText(), org.owner()).status());
    assertEquals(0, api.get("/v1/orgs/" + org.id() + "/webhooks", org.owner()).json().get("webhooks").size());
    assertEquals(404, api.delete("/v1/orgs/" + org.id() + "/webhooks/" + registered.get("id").asText(), org.owner()).status());
  }

  @Test
  void everyStateChangeArrivesSignedAndInOrder() {
    Org org = newOrg();
    String secret = api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(),
        "{\"url\":\"" + url() + "\",\"events\":[\"session.state\"]}").json().get("secret").asText();
    String session = lifecycle(org);

    List<Received> deliveries = Await.until(Duration.ofSeconds(20), () -> of(session),
        d -> !d.isEmpty() && states(d).get(d.size() - 1).equals("terminated"), "the terminated state to be delivered");
    List<String> states = states(deliveries);
    assertEquals("provisioning", states.get(0), states.toString());
    assertTrue(states.contains("active"), states.toString());
    List<String> expected = new ArrayList<>();
    api.get("/v1/sessions/" + session, org.member()).json().get("stretches")
        .forEach(s -> expected.add(s.get("kind").asText()));
    expected.add("terminated");
    assertEquals(expected, states, "one delivery per transition, in the order they happened");
    for (Received r : deliveries) {
      String[] parts = r.signature().split(",");
      long t = Long.parseLong(parts[0].substring(2));
      assertEquals(WebhookDispatcher.signature(secret, t, r.body()), parts[1].substring(3), "a valid signature");
      assertEquals(r.deliveryId(), r.json().get("id").asText());
    }
    assertEquals(deliveries.size(), deliveries.stream().map(Received::deliveryId).distinct().count());
  }

  @Test
  void deliveriesWaitOutAReceiverOutageAndKeepTheirIds() {
    Org org = newOrg();
    api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(), "{\"url\":\"" + url() + "\",\"events\":[\"session.state\"]}");
    down.set(true);
    String session;
    try {
      session = lifecycle(org);
      Await.until(Duration.ofSeconds(10), () -> refusedIds.size(), n -> n >= 2, "deliveries to be tried while down");
      assertTrue(of(session).isEmpty());
    } finally {
      down.set(false);
    }
    List<Received> deliveries = Await.until(Duration.ofSeconds(30), () -> of(session),
        d -> !d.isEmpty() && states(d).get(d.size() - 1).equals("terminated"), "the deliveries to arrive after the outage");
    Set<String> delivered = deliveries.stream().map(Received::deliveryId).collect(Collectors.toSet());
    Set<String> refused;
    synchronized (refusedIds) {
      refused = Set.copyOf(refusedIds);
    }
    assertFalse(java.util.Collections.disjoint(delivered, refused), "a delivery refused during the outage came again with its id");
    assertEquals("provisioning", states(deliveries).get(0), "still in order");
  }

  @Test
  void anOrganisationIsWarnedAtNinetyPercentOfItsCommittedUsage() {
    Org org = newOrg();
    api.post("/v1/orgs/" + org.id() + "/webhooks", org.owner(), "{\"url\":\"" + url() + "\",\"events\":[\"usage.warning\"]}");
    assertEquals(201, api.post("/v1/orgs/" + org.id() + "/grants", OP, "{\"seconds\": 10, \"kind\": \"trial\"}").status());
    String session = api.post("/v1/sessions", org.member(), "{}").json().get("id").asText();
    Received warning = Await.until(Duration.ofSeconds(30), () -> {
      synchronized (received) {
        return received.stream().filter(r -> r.json().path("type").asText().equals("usage.warning")
            && r.json().path("org").asText().equals(org.id())).findFirst().orElse(null);
      }
    }, java.util.Objects::nonNull, "the usage warning");
    assertTrue(warning.json().get("remainingSeconds").asLong() <= 1, warning.body());
    api.delete("/v1/sessions/" + session, org.member());
  }
}
