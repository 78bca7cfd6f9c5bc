package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class UsageTest {
  private final Cli cli = new Cli(Cli.temp("offload-usage"));

  @Test
  void anUnknownFlagExitsTwoWithTheCommandsUsage() {
    Cli.Run run = cli.run("start", "--bogus");
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains("Unknown option: '--bogus'"), run.toString());
    assertTrue(run.err().contains("Usage: offload start"), run.toString());
  }

  @Test
  void aBadDurationExitsTwo() {
    Cli.Run run = cli.run("start", "--idle-timeout", "soon");
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains("'soon' is not a duration"), run.toString());
  }

  @Test
  void noCommandExitsTwoWithTheList() {
    Cli.Run run = cli.run();
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains("Usage: offload") && run.err().contains("start"), run.toString());
  }

  @Test
  void loginNeedsServerAndToken() {
    Cli.Run run = cli.run("login", "--server", "https://offload.example.com");
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains("--token"), run.toString());
  }

  @Test
  void settingsSetWithoutAValueExitsTwo() {
    cli.store().save(new ConfigStore.Config("http://127.0.0.1:1", "t", null, "acme"));
    Cli.Run run = cli.run("settings", "set", "idleTimeoutSeconds");
    assertEquals(2, run.exit(), run.toString());
    assertTrue(run.err().contains("settings set needs KEY and VALUE"), run.toString());
  }

  @Test
  void commandsThatNeedALoginSayHowToLogIn() {
    Cli.Run run = cli.run("sessions");
    assertEquals(1, run.exit(), run.toString());
    assertEquals(1, run.err().lines().count(), run.toString());
    assertTrue(run.err().contains("run offload login"), run.toString());
  }
}
