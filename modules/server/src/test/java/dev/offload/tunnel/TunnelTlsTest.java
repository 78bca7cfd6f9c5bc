package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.server.TestServer;
import dev.offload.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/** The server with a keystore, set up as docs/tls.md says, and a client trusting its PEM. */
class TunnelTlsTest {
  private static final String PASSWORD = "tunnel-test-password";
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theApiAndTunnelsAreServedOverTlsWhenAKeystoreIsConfigured() throws Exception {
    Path dir = Files.createTempDirectory("tls");
    Path keystore = dir.resolve("offload.p12");
    Path pem = dir.resolve("offload-ca.pem");
    keytool("-genkeypair", "-alias", "offload", "-keyalg", "EC", "-groupname", "secp256r1",
        "-validity", "2", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
        "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", PASSWORD);
    keytool("-exportcert", "-rfc", "-alias", "offload", "-keystore", keystore.toString(),
        "-storepass", PASSWORD, "-file", pem.toString());

    try (TestEngine engine = TestEngine.tcp();
        TestServer server = TestServer.start(String.join("\n",
            "offload.runners.local.engine-target = \"" + engine.target() + "\"",
            "offload.http.tls.keystore = \"" + keystore + "\"",
            "offload.http.tls.password = \"" + PASSWORD + "\""))) {
      String url = server.server().url();
      assertTrue(url.startsWith("https://"), url);
      HttpClient trusting = HttpClient.newBuilder().sslContext(trusting(pem)).build();
      HttpResponse<String> alive = trusting.send(
          HttpRequest.newBuilder(URI.create(url + "/health/alive")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, alive.statusCode());
      assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(url + "/health/alive")).build(), HttpResponse.BodyHandlers.ofString()),
          "a client that does not trust the certificate is refused");

      post(trusting, url, "/v1/orgs", TestServer.OPERATOR_TOKEN, "{\"id\":\"tls\",\"name\":\"TLS\"}");
      String token = post(trusting, url, "/v1/orgs/tls/tokens", TestServer.OPERATOR_TOKEN,
          "{\"user\":\"alice\",\"role\":\"member\"}").get("token").asText();
      String session = post(trusting, url, "/v1/sessions", token, "{}").get("id").asText();
      Await.until(Duration.ofSeconds(30), () -> get(trusting, url, "/v1/sessions/" + session, token),
          s -> List.of("active", "grace-period").contains(s.path("state").asText()), "a running session");
      TunnelClient client = TunnelClient.connect(trusting, url, session, token, true);
      client.send("over tls".getBytes(StandardCharsets.US_ASCII));
      client.eof();
      assertEquals(1000, client.closeCode.get(30, TimeUnit.SECONDS));
      assertEquals("over tls" + new String(TestEngine.ANSWER, StandardCharsets.US_ASCII),
          new String(client.bytes(), StandardCharsets.US_ASCII));
    }
  }

  private static JsonNode post(HttpClient http, String url, String path, String token, String body)
      throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + path))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(201, r.statusCode(), r.body());
    return JSON.readTree(r.body());
  }

  private static JsonNode get(HttpClient http, String url, String path, String token) {
    try {
      return JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(url + path))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).body());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static void keytool(String... arguments) throws Exception {
    String[] command = new String[arguments.length + 1];
    command[0] = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    System.arraycopy(arguments, 0, command, 1, arguments.length);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, process.waitFor(), output);
  }

  /** What the CLI's --ca does: trust exactly the certificates in the PEM file. */
  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore trusted = KeyStore.getInstance("PKCS12");
    trusted.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      trusted.setCertificateEntry("offload", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trusted);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
