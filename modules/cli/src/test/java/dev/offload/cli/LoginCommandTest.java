package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

class LoginCommandTest {

  @Test
  void refusesPlainHttpToAnotherHostWithOneLine() {
    Cli cli = new Cli(Cli.temp("offload-login"));
    Cli.Run run = cli.run("login", "--server", "http://offload.example.com", "--token", "t");
    assertEquals(2, run.exit(), run.toString());
    assertEquals(1, run.err().lines().count(), run.toString());
    assertTrue(run.err().contains("--insecure") && run.err().contains("https://"), run.toString());
    assertTrue(cli.store().load().isEmpty(), "nothing is stored");
  }

  @Test
  void storesServerAndTokenOnceTheServerAcceptsThem() throws Exception {
    Cli cli = new Cli(Cli.temp("offload-login"));
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions?limit=1", 200, "{\"sessions\":[],\"nextCursor\":null}");
      Cli.Run run = cli.run("login", "--server", api.url() + "/", "--token", "tok-1");
      assertEquals(0, run.exit(), run.toString());
      assertEquals("GET /v1/sessions?limit=1 Bearer tok-1", api.requests.get(0));
      assertEquals(new ConfigStore.Config(api.url(), "tok-1", null, null), cli.store().load().orElseThrow());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cli.store().configFile())));
    }
  }

  @Test
  void aRefusedTokenFailsWithTheServersMessage() {
    Cli cli = new Cli(Cli.temp("offload-login"));
    try (FakeApi api = new FakeApi()) {
      api.answer("GET /v1/sessions?limit=1", 401, "{\"error\":{\"code\":\"unauthenticated\","
          + "\"message\":\"the token is unknown or revoked; ask an owner of your organisation for a new one\"}}");
      Cli.Run run = cli.run("login", "--server", api.url(), "--token", "wrong");
      assertEquals(1, run.exit(), run.toString());
      assertEquals("the token is unknown or revoked; ask an owner of your organisation for a new one\n", run.err());
      assertTrue(cli.store().load().isEmpty(), "a refused token is not stored");
    }
  }
}
