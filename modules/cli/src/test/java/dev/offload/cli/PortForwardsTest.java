package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Local listeners following the session's list of published ports. */
class PortForwardsTest {

  @Test
  void eachPublishedTcpPortGetsALocalListenerUntilItIsNoLongerPublished() throws Exception {
    int free = freePort();
    List<String> lines = new CopyOnWriteArrayList<>();
    try (PortForwards forwards = new PortForwards(new ApiClient("http://127.0.0.1:9", "tok", null), "s-1", lines::add)) {
      forwards.update(ports("[{\"container\":\"c1\",\"name\":\"web\",\"hostPort\":" + free + ",\"protocol\":\"tcp\"},"
          + "{\"container\":\"c1\",\"name\":\"web\",\"hostPort\":" + free + ",\"protocol\":\"udp\"}]"));
      assertEquals(List.of("forwarding 127.0.0.1:" + free + " → container web:" + free), lines);
      assertTrue(taken(free), "127.0.0.1:" + free + " listens");

      forwards.update(ports("[{\"container\":\"c1\",\"name\":\"web\",\"hostPort\":" + free + ",\"protocol\":\"tcp\"}]"));
      assertEquals(1, lines.size(), "the same list again changes nothing: " + lines);

      forwards.update(ports("[]"));
      assertEquals("container web no longer publishes port " + free + "; closed 127.0.0.1:" + free, lines.get(1));
      assertFalse(taken(free), "the listener is closed");
    }
  }

  @Test
  void aPortTakenHereIsForwardedFromAFreeOneAndSaysSo() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (ServerSocket busy = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        PortForwards forwards = new PortForwards(new ApiClient("http://127.0.0.1:9", "tok", null), "s-1", lines::add)) {
      int port = busy.getLocalPort();
      forwards.update(ports("[{\"container\":\"f3a9\",\"name\":\"\",\"hostPort\":" + port + ",\"protocol\":\"tcp\"}]"));
      Matcher chosen = Pattern.compile("port " + port + " is in use here; forwarding 127\\.0\\.0\\.1:(\\d+) → container f3a9:" + port)
          .matcher(lines.get(0));
      assertTrue(chosen.matches(), lines.toString());
      int local = Integer.parseInt(chosen.group(1));
      assertTrue(taken(local));

      forwards.close();
      assertFalse(taken(local), "closing the bridge closes its port listeners");
    }
  }

  private static JsonNode ports(String json) throws IOException {
    return ConfigStore.JSON.readTree(json);
  }

  private static int freePort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      return probe.getLocalPort();
    }
  }

  /** Whether binding 127.0.0.1:port fails, without connecting (a connection would open a tunnel). */
  private static boolean taken(int port) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
