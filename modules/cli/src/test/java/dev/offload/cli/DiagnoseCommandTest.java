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
}
