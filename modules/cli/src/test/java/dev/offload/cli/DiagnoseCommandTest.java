package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class DiagnoseCommandTest {

  @Test
  void aServerThatDoesNotListenIsUnreachable() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Cli cli = new Cli(Cli.temp("offload-diagnose"));
    cli.store().save(new ConfigStore.Config("http://127.0.0.1:" + port, "tok", null, null));

    Cli.Run run = cli.run("diagnose");

    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.out().contains("✓ config"), run.toString());
    assertTrue(run.out().contains("✗ server: cannot reach the Offload server at http://127.0.0.1:" + port + " (unreachable"),
        run.toString());
    assertEquals(1, run.err().lines().count(), run.toString());
  }

  @Test
  void aBridgeThatIsNotListeningFails() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Cli cli = new Cli(Cli.temp("offload-diagnose"));
    cli.store().saveState(new ConfigStore.BridgeState("s-1", port, null));

    Cli.Run run = cli.run("diagnose");

    assertEquals(1, run.exit(), run.toString());
    assertTrue(run.out().contains("✗ config"), run.toString());
    assertTrue(run.out().contains("✗ bridge: nothing listens on 127.0.0.1:" + port), run.toString());
  }

  @Test
  void theServersChecksOfTheCurrentSessionAreShown() {
    FakeApi api = new FakeApi()
        .answer("GET /version", 200, "{\"version\":\"0.1.0\",\"akka\":\"2.8.6\"}")
        .answer("GET /v1/sessions?limit=1", 200, "{\"sessions\":[],\"nextCursor\":null}")
        .answer("GET /v1/sessions?limit=10&state=provisioning", 200, "{\"sessions\":[]}")
        .answer("GET /v1/sessions?limit=10&state=active", 200, "{\"sessions\":[{\"id\":\"s-1\"}]}")
        .answer("GET /v1/sessions?limit=10&state=grace-period", 200, "{\"sessions\":[]}")
        .answer("GET /v1/sessions?limit=10&state=idle", 200, "{\"sessions\":[]}")
        .answer("GET /v1/sessions/s-1/diagnose", 200, "{\"checks\":["
            + "{\"name\":\"runner reachable over SSH\",\"ok\":true,\"detail\":\"runner local-1 presented SHA256:x\"},"
            + "{\"name\":\"engine answers\",\"ok\":false,\"detail\":\"the engine did not answer\"}]}");
    try (api) {
      Cli cli = new Cli(Cli.temp("offload-diagnose"));
      cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));
      Cli.Run run = cli.run("diagnose");
      assertEquals(1, run.exit(), run.toString());
      assertTrue(run.out().contains("✓ session runner reachable over SSH: runner local-1"), run.toString());
      assertTrue(run.out().contains("✗ session engine answers: the engine did not answer"), run.toString());
    }
  }
}
