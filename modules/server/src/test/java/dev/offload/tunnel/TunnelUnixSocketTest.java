package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.server.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Docker default: the engine behind a Unix socket, reached with direct-streamlocal. */
class TunnelUnixSocketTest {

  @Test
  void bytesAndHalfCloseReachAnEngineOnAUnixSocket() throws Exception {
    Path socket = Files.createTempDirectory("tunnel").resolve("engine.sock");
    try (TestEngine engine = TestEngine.unix(socket);
        TestServer server = TestServer.start(
            "offload.runners.local.engine-target = \"" + engine.target() + "\"")) {
      String token = Tunnels.member(server.api());
      String session = Tunnels.activeSession(server.api(), token, 300);
      TunnelClient client = TunnelClient.connect(server.server().url(), session, token, true);

      byte[] data = new byte[3 * 1024 * 1024 + 17];
      new Random(3).nextBytes(data);
      client.send(data);
      client.eof();

      assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      expected.writeBytes(data);
      expected.writeBytes(TestEngine.ANSWER);
      assertArrayEquals(expected.toByteArray(), client.bytes());
      assertEquals(List.of("{\"type\":\"eof\"}"), client.texts());
    }
  }
}
