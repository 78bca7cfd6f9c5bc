package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A self-hosted server on HTTPS with a certificate no public CA signed: trusted through --ca. */
class PrivateCaTest {
  private static final char[] PASSWORD = "changeit".toCharArray();
  private static Path dir;

  @BeforeAll
  static void certificate() throws Exception {
    dir = Cli.temp("offload-ca");
    keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=offload test",
        "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-keystore", dir.resolve("server.p12").toString(),
        "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit");
    keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", dir.resolve("server.p12").toString(),
        "-storepass", "changeit", "-file", dir.resolve("ca.pem").toString());
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "keytool finishes");
    assertEquals(0, process.exitValue(), output);
  }

  private static SSLContext serverTls() throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(dir.resolve("server.p12"))) {
      keys.load(in, PASSWORD);
    }
    KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(keys, PASSWORD);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(factory.getKeyManagers(), null, null);
    return context;
  }

  @Test
  void loginTrustsTheGivenCaAndRemembersIt() throws Exception {
    Cli cli = new Cli(Cli.temp("offload-login-ca"));
    try (FakeApi api = new FakeApi(serverTls())) {
      api.answer("GET /v1/sessions?limit=1", 200, "{\"sessions\":[],\"nextCursor\":null}")
          .answer("GET /v1/sessions?limit=50", 200, "{\"sessions\":[],\"nextCursor\":null}");

      Cli.Run untrusted = cli.run("login", "--server", api.url(), "--token", "tok");
      assertEquals(1, untrusted.exit(), untrusted.toString());
      assertEquals(1, untrusted.err().lines().count(), untrusted.toString());
      assertTrue(untrusted.err().startsWith("TLS with " + api.url() + " failed") && untrusted.err().contains("--ca FILE"),
          untrusted.toString());

      Cli.Run trusted = cli.run("login", "--server", api.url(), "--token", "tok", "--ca", dir.resolve("ca.pem").toString());
      assertEquals(0, trusted.exit(), trusted.toString());
      assertEquals(Files.readString(dir.resolve("ca.pem")), cli.store().load().orElseThrow().ca());

      Cli.Run later = cli.run("sessions", "--json");
      assertEquals(0, later.exit(), "the stored CA is used by every command: " + later);
    }
  }

  @Test
  void aFileWithoutACertificateIsRefused() throws Exception {
    Cli cli = new Cli(Cli.temp("offload-login-ca"));
    Path notPem = Files.writeString(dir.resolve("not.pem"), "hello");
    Cli.Run run = cli.run("login", "--server", "https://127.0.0.1:1", "--token", "tok", "--ca", notPem.toString());
    assertEquals(1, run.exit(), run.toString());
    assertEquals(1, run.err().lines().count(), run.toString());
    assertTrue(run.err().contains("--ca"), run.toString());
  }
}
