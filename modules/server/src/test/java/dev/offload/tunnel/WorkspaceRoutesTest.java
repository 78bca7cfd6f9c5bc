package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code PUT /v1/sessions/{id}/workspace/{mount}}: a tar unpacked on a local runner, or refused whole. */
class WorkspaceRoutesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestEngine engine;
  private static TestServer server;
  private static ApiClient api;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    engine = TestEngine.tcp();
    server = TestServer.start(String.join("\n",
        "offload.runners.local.engine-target = \"" + engine.target() + "\"",
        "offload.runners.health-command = true",
        "offload.runners.wipe-command = true",
        "offload.tunnel.workspace-max-bytes = 12MiB"));
    api = server.api();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
    engine.close();
  }

  @Test
  void aTarIsUnpackedInTheSessionsWorkspaceAndOneOverTheCapCreatesNothing() throws Exception {
    String token = Tunnels.member(api);
    String session = Tunnels.activeSession(api, token, 60);
    Files.createDirectories(dir.resolve("src"));
    Files.writeString(dir.resolve("src/app.py"), "print('hi')\n");
    // Larger than the HTTP parser's general limit (8m): the route's own cap is what counts.
    byte[] large = new byte[9 * 1024 * 1024];
    new java.util.SplittableRandom(3).nextBytes(large);
    Files.write(dir.resolve("src/large.bin"), large);
    byte[] tar = new ProcessBuilder("tar", "-cf", "-", "-C", dir.toString(), "src").start().getInputStream().readAllBytes();

    HttpResponse<String> ok = put(session, "m-1", token, tar);
    assertEquals(200, ok.statusCode(), ok.body());
    Path unpacked = Path.of(JSON.readTree(ok.body()).path("path").asText());
    assertTrue(unpacked.endsWith(Path.of("offload-workspaces", session, "m-1")), unpacked.toString());
    assertEquals("print('hi')\n", Files.readString(unpacked.resolve("src/app.py")));
    assertArrayEquals(large, Files.readAllBytes(unpacked.resolve("src/large.bin")));

    Files.writeString(unpacked.resolve("src/it's here.txt"), "x");
    assertEquals(200, api.post("/v1/sessions/" + session + "/workspace/m-1/remove", token,
        "{\"paths\":[\"src/app.py\",\"src/it's here.txt\",\"src/never-there\"]}").status());
    assertFalse(Files.exists(unpacked.resolve("src/app.py")), "removed on the runner");
    assertFalse(Files.exists(unpacked.resolve("src/it's here.txt")), "any name, quoted for the shell");
    assertTrue(Files.isDirectory(unpacked.resolve("src")));
    for (String outside : new String[] {"../m-2", "/etc/hostname", "src/../../x", ""}) {
      ApiClient.Response refused = api.post("/v1/sessions/" + session + "/workspace/m-1/remove", token,
          "{\"paths\":[\"" + outside + "\"]}");
      assertEquals(400, refused.status(), outside + ": " + refused.body());
      assertEquals("paths", refused.errorField(), refused.body());
    }

    byte[] big = new byte[12 * 1024 * 1024 + 1];
    HttpResponse<String> refused = put(session, "m-2", token, big);
    assertEquals(413, refused.statusCode(), refused.body());
    JsonNode error = JSON.readTree(refused.body()).path("error");
    assertEquals("payload_too_large", error.path("code").asText());
    assertTrue(error.path("message").asText().contains("over this server's bind-mount limit of 12 MiB"), refused.body());
    assertFalse(Files.exists(unpacked.resolveSibling("m-2")), "nothing was created for the refused mount");

    assertEquals(400, put(session, "Bad_Name", token, tar).statusCode());
    assertEquals(12 << 20, api.get("/v1/sessions/" + session + "/workspace", token).json().path("maxBytes").asLong());
    // Refused before its body is read: the body is drained, so the client still gets the answer.
    HttpResponse<String> unknown = put("7c1e0000-0000-4000-8000-000000000000", "m-1", token, new byte[8 << 20]);
    assertEquals(404, unknown.statusCode(), unknown.body());
    assertEquals("not_found", JSON.readTree(unknown.body()).path("error").path("code").asText());
  }

  private static HttpResponse<String> put(String session, String mount, String token, byte[] body) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(server.server().url() + "/v1/sessions/" + session + "/workspace/" + mount))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/x-tar")
        .timeout(Duration.ofSeconds(20))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }
}
