package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EngineTargetTest {

  @Test
  void aUnixTargetIsTheSocketPath() {
    assertEquals(new EngineTarget.UnixSocket(Path.of("/var/run/docker.sock")),
        EngineTarget.parse("unix:///var/run/docker.sock"));
  }

  @Test
  void aTcpTargetIsHostAndPort() {
    assertEquals(new EngineTarget.Tcp("127.0.0.1", 2375), EngineTarget.parse("tcp://127.0.0.1:2375"));
  }

  @Test
  void anythingElseIsRefusedWithTheAcceptedForms() {
    for (String target : new String[] {"/var/run/docker.sock", "tcp://127.0.0.1", "http://x:1", "unix://"}) {
      IllegalArgumentException refused =
          assertThrows(IllegalArgumentException.class, () -> EngineTarget.parse(target), target);
      assertEquals("engine target " + target + " is neither unix:///path/to/socket nor tcp://host:port",
          refused.getMessage());
    }
  }
}
