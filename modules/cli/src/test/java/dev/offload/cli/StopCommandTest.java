package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class StopCommandTest {

  private static int closedPort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0)) {
      return probe.getLocalPort();
    }
  }

  @Test
  void anUnreachableServerKeepsTheStateUnlessForced() throws IOException {
    Cli cli = new Cli(Cli.temp("offload-stop"));
    cli.store().save(new ConfigStore.Config("http://127.0.0.1:" + closedPort(), "tok", null, null));
    cli.store().saveState(new ConfigStore.BridgeState("s-1", 2375, null));

    Cli.Run plain = cli.run("stop");
    assertEquals(1, plain.exit(), plain.toString());
    assertTrue(plain.err().contains("unreachable"), plain.toString());
    assertTrue(cli.store().state().isPresent(), "the session is still known, so stop can be retried");

    Cli.Run forced = cli.run("stop", "--force");
    assertEquals(0, forced.exit(), forced.toString());
    assertEquals(1, forced.err().lines().count(), forced.toString());
    assertTrue(forced.err().startsWith("the session was forgotten locally but not stopped: cannot reach"), forced.toString());
    assertTrue(cli.store().state().isEmpty());
  }

  @Test
  void withoutABridgeItStopsTheOnlyLiveSession() {
    Cli cli = new Cli(Cli.temp("offload-stop"));
    try (FakeApi api = new FakeApi()) {
      String empty = "{\"sessions\":[],\"nextCursor\":null}";
      api.answer("GET /v1/sessions?limit=10&state=provisioning", 200, empty)
          .answer("GET /v1/sessions?limit=10&state=active", 200, "{\"sessions\":[{\"id\":\"s-3\"}],\"nextCursor\":null}")
          .answer("GET /v1/sessions?limit=10&state=grace-period", 200, empty)
          .answer("GET /v1/sessions?limit=10&state=idle", 200, empty)
          .answer("DELETE /v1/sessions/s-3", 200, "{\"id\":\"s-3\",\"state\":\"terminated\",\"terminationReason\":\"stopped\"}");
      cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));

      Cli.Run run = cli.run("stop");

      assertEquals(0, run.exit(), run.toString());
      assertEquals("Session s-3 terminated (stopped)\n", run.out());
    }
  }

  @Test
  void noLiveSessionSaysHowToStartOne() {
    Cli cli = new Cli(Cli.temp("offload-stop"));
    try (FakeApi api = new FakeApi()) {
      for (String state : new String[] {"provisioning", "active", "grace-period", "idle"}) {
        api.answer("GET /v1/sessions?limit=10&state=" + state, 200, "{\"sessions\":[],\"nextCursor\":null}");
      }
      cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));

      Cli.Run run = cli.run("stop");

      assertEquals(1, run.exit(), run.toString());
      assertEquals("no live session: start one with offload start\n", run.err());
    }
  }
}
