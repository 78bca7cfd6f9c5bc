package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient.Response;
import dev.offload.server.TestServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A session still waiting for a runner: the client is told to retry, not to give up. */
class TunnelNotReadyTest {

  @Test
  void aProvisioningSessionRefusesWithTryAgainLater() throws Exception {
    try (TestEngine engine = TestEngine.tcp();
        TestServer server = TestServer.start(String.join("\n",
            "offload.runners.local.engine-target = \"" + engine.target() + "\"",
            "offload.runners.classes.standard { provider = local, min-warm = 1, max = 1 }"))) {
      Tunnels.activeSession(server.api(), Tunnels.member(server.api()), 300); // takes the only runner
      String token = Tunnels.member(server.api());
      Response waiting = server.api().post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 300}");
      assertEquals(201, waiting.status(), waiting.body());
      String session = waiting.json().get("id").asText();
      Tunnels.awaitState(server.api(), session, token, "provisioning");

      TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);

      assertEquals(1013, client.closeCode.get(30, TimeUnit.SECONDS));
      JsonNode error = new ObjectMapper().readTree(client.texts().get(0));
      assertEquals("error", error.path("type").asText());
      assertEquals("session_not_ready", error.path("code").asText());
      assertEquals(0, server.api().get("/v1/sessions/" + session, token).json().path("openConnections").asInt());
    }
  }
}
