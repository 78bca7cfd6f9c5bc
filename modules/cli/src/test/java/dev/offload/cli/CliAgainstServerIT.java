package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/offload} against {@code bin/offload-server}: log in, list, start a session bridged in
 * the foreground, bridge it again in the background, see it, diagnose, stop it. No traffic goes
 * through the tunnel here (LocalBridgeTest covers the protocol).
 */
class CliAgainstServerIT {

  @Test
  void aDeveloperStartsAndStopsASession() throws Exception {
    Path home = Files.createTempDirectory("offload-cli-home");
    Map<String, String> env = Map.of(
        "XDG_CONFIG_HOME", home.resolve("config").toString(),
        // The test's docker context must not touch the developer's own Docker configuration.
        "DOCKER_CONFIG", home.resolve("docker").toString());
    ConfigStore store = new ConfigStore(home.resolve("config/offload"));
    // No Docker here: the runners forward to a listener that accepts connections, so that
    // diagnose's check that the engine target opens has a target to open.
    try (ServerSocket engine = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
         OffloadProcesses server = OffloadProcesses.startServer(
             Map.of("OFFLOAD_LOCAL_ENGINE", "tcp://127.0.0.1:" + engine.getLocalPort()), dataDir -> { })) {
      Thread acceptor = new Thread(() -> acceptAndClose(engine), "engine-stand-in");
      acceptor.setDaemon(true);
      acceptor.start();
      Cli.Run login = OffloadProcesses.offload(env, "login", "--server", server.url(), "--token", server.devToken());
      assertEquals(0, login.exit(), login.toString());
      assertEquals(server.url(), store.load().orElseThrow().server());

      Cli.Run before = OffloadProcesses.offload(env, "sessions", "--json");
      assertEquals(0, before.exit(), before.toString());
      assertTrue(before.json().path("sessions").isArray(), before.toString());

      // In the foreground the bridge lives as long as the command; its end leaves the session running.
      OffloadProcesses.Running foreground = OffloadProcesses.launch(env, "start", "--idle-timeout", "2m");
      Await.until(Duration.ofMinutes(1), () -> read(foreground.out()).contains("export DOCKER_HOST="),
          () -> read(foreground.out()) + read(foreground.err()));
      ConfigStore.BridgeState inForeground = store.state().orElseThrow();
      assertNull(inForeground.pid());
      assertEquals("export DOCKER_HOST=tcp://127.0.0.1:" + inForeground.port() + "\n", read(foreground.out()));
      assertTrue(LocalBridge.listening(inForeground.port()));
      foreground.process().destroy();
      assertTrue(foreground.process().waitFor(30, TimeUnit.SECONDS), "the foreground bridge ends on SIGTERM, as on Ctrl-C");

      Cli.Run start = OffloadProcesses.offload(env, "start", "--detach", "--idle-timeout", "2m");
      assertEquals(0, start.exit(), start.toString() + "\n--- server\n" + server.output());
      ConfigStore.BridgeState bridge = store.state().orElseThrow();
      assertEquals(inForeground.session(), bridge.session(), "the user's live session is the one bridged again");
      assertEquals("export DOCKER_HOST=tcp://127.0.0.1:" + bridge.port() + "\n", start.out(), start.toString());
      assertTrue(ProcessHandle.of(bridge.pid()).map(ProcessHandle::isAlive).orElse(false), "the bridge runs in the background");
      if (DockerContext.onPath("docker", System.getenv()).isPresent()) {
        assertTrue(start.err().contains("Docker context offload points at tcp://127.0.0.1:" + bridge.port()), start.toString());
      }

      Cli.Run again = OffloadProcesses.offload(env, "start", "--detach");
      assertEquals(0, again.exit(), again.toString());
      assertEquals(start.out(), again.out(), "the live session and its bridge are reused");
      assertEquals(bridge, store.state().orElseThrow());

      Cli.Run status = OffloadProcesses.offload(env, "status", "--json");
      assertEquals(0, status.exit(), status.toString());
      JsonNode session = status.json();
      assertEquals(bridge.session(), session.path("id").asText());
      assertTrue(Set.of("active", "grace-period").contains(session.path("state").asText()), status.toString());
      assertEquals(120, session.path("idleTimeoutSeconds").asInt());

      Cli.Run diagnose = OffloadProcesses.offload(env, "diagnose");
      assertEquals(0, diagnose.exit(), diagnose.toString());
      assertTrue(diagnose.out().contains("✓ bridge: 127.0.0.1:" + bridge.port()), diagnose.toString());

      OffloadProcesses.Running watch = OffloadProcesses.launch(env, "status", bridge.session(), "--watch", "--json");
      Cli.Run stop = OffloadProcesses.offload(env, "stop");
      assertEquals(0, stop.exit(), stop.toString());
      assertTrue(stop.out().contains("Session " + bridge.session() + " terminated") && stop.out().contains("bridge stopped"),
          stop.toString());
      assertTrue(store.state().isEmpty(), "the bridge state is gone");
      assertFalse(ProcessHandle.of(bridge.pid()).map(ProcessHandle::isAlive).orElse(false), "the bridge process ended");

      Cli.Run watched = watch.finish();
      assertEquals(0, watched.exit(), "status --watch ends with the session: " + watched);
      List<String> events = watched.out().lines().toList();
      assertTrue(events.get(events.size() - 1).contains("\"state\":\"terminated\""), watched.toString());

      Cli.Run after = OffloadProcesses.offload(env, "sessions", "--json");
      assertEquals("terminated", after.json().path("sessions").path(0).path("state").asText(), after.toString());
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void acceptAndClose(ServerSocket engine) {
    while (!engine.isClosed()) {
      try {
        engine.accept().close();
      } catch (IOException closed) {
        return;
      }
    }
  }
}
