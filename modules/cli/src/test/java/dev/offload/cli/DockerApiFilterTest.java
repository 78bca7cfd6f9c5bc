package dev.offload.cli;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Docker Engine API requests through the bridge's reader, against a fake control plane. */
class DockerApiFilterTest {
  @TempDir Path dir;

  @Test
  void aCreateWithALocalBindIsRewrittenAndOtherRequestsPassUnchanged() throws Exception {
    Files.writeString(dir.resolve("a.txt"), "a");
    String mount = "m-" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(dir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions/s-1/workspace", 200, "{\"maxBytes\":1048576}");
      api.answer("PUT /v1/sessions/s-1/workspace/" + mount, 200, "{\"path\":\"/runner/ws/" + mount + "\",\"bytes\":2048}");
      String body = "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"" + dir + ":/src:ro\"]}}";
      String ping = "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n";
      String build = "POST /v1.45/build HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\nhello";
      String create = "POST /v1.45/containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n"
          + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
      ByteArrayOutputStream toClient = new ByteArrayOutputStream();
      try (BindMounts mounts = new BindMounts(new ApiClient(api.url(), "tok", null), "s-1", line -> { })) {
        DockerApiFilter filter = new DockerApiFilter(
            new ByteArrayInputStream((ping + build + create + ping).getBytes(ISO_8859_1)), toClient, mounts);
        String out = new String(filter.readAllBytes(), ISO_8859_1);
        String rewritten = body.replace(dir.toString(), "/runner/ws/" + mount);
        assertEquals(ping + build + "POST /v1.45/containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: "
            + rewritten.length() + "\r\n\r\n" + rewritten + ping, out);
      }
      assertEquals(0, toClient.size());
    }
  }

  @Test
  void anUpgradedConnectionPassesThroughByteForByte() throws IOException {
    byte[] raw = new byte[1 << 20];
    new SplittableRandom(5).nextBytes(raw);
    ByteArrayOutputStream input = new ByteArrayOutputStream();
    input.write("POST /v1.45/exec/abc/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}"
        .getBytes(ISO_8859_1));
    input.write(raw);
    try (BindMounts mounts = new BindMounts(new ApiClient("http://127.0.0.1:9", "tok", null), "s-1", line -> { })) {
      DockerApiFilter filter = new DockerApiFilter(new ByteArrayInputStream(input.toByteArray()), new ByteArrayOutputStream(), mounts);
      assertArrayEquals(input.toByteArray(), filter.readAllBytes());
    }
  }

  @Test
  void bytesThatAreNotHttpPassAtOnceWithoutWaitingForALineEnd() throws Exception {
    for (byte[] sent : new byte[][] {{0}, "hello".getBytes(ISO_8859_1), "GET\t".getBytes(ISO_8859_1)}) {
      java.io.PipedOutputStream client = new java.io.PipedOutputStream();
      java.io.PipedInputStream fromClient = new java.io.PipedInputStream(client);
      client.write(sent); // and the client then waits for an answer: no line end ever comes
      client.flush();
      try (BindMounts mounts = new BindMounts(new ApiClient("http://127.0.0.1:9", "tok", null), "s-1", line -> { })) {
        DockerApiFilter filter = new DockerApiFilter(fromClient, new ByteArrayOutputStream(), mounts);
        byte[] received = assertTimeoutPreemptively(java.time.Duration.ofSeconds(5),
            () -> filter.readNBytes(sent.length));
        assertArrayEquals(sent, received);
      }
      client.close();
    }
  }
}
