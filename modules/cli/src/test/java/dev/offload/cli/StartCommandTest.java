package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class StartCommandTest {
  private static final String PROVISIONING = "{\"id\":\"s-9\",\"org\":\"acme\",\"state\":\"provisioning\","
      + "\"runnerClass\":\"gpu\",\"runner\":null,\"terminationReason\":null}";
  private static final String TERMINATED = PROVISIONING.replace("\"provisioning\"", "\"terminated\"")
      .replace("\"terminationReason\":null", "\"terminationReason\":\"provisioning-failed\"");

  @Test
  void showsProgressAndFailsWhenTheSessionEndsWhileStarting() {
    Cli cli = new Cli(Cli.temp("offload-start"));
    try (FakeApi api = new FakeApi()) {
      api.answer("POST /v1/sessions", 201, PROVISIONING)
          .answer("GET /v1/sessions/s-9/events", 200,
              "event: state\ndata: " + PROVISIONING + "\n\n:\n\nevent: state\ndata: " + TERMINATED + "\n\n");
      cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));

      Cli.Run run = cli.run("start", "--gpu", "--idle-timeout", "5m", "--org", "acme");

      assertEquals(1, run.exit(), run.toString());
      // The usage notice reads first (here it finds no usage view, and says nothing): the POST follows.
      assertEquals("{\"org\":\"acme\",\"runnerClass\":\"gpu\",\"idleTimeoutSeconds\":300}",
          api.bodies.stream().filter(b -> !b.isEmpty()).findFirst().orElseThrow());
      assertEquals("", run.out(), "no DOCKER_HOST for a session that never ran");
      assertTrue(run.err().contains("Session s-9 (gpu): provisioning\nSession s-9: terminated\n"), run.toString());
      assertTrue(run.err().endsWith("session s-9 ended while starting (provisioning-failed): run offload start again,"
          + " or offload diagnose if it keeps failing\n"), run.toString());
      assertTrue(cli.store().state().isEmpty());
    }
  }

  @Test
  void saysWhyItStillWaitsForARunnerAndWhatEndedTheSession() {
    String refused = "SSH authentication refused by runner vm-a at 10.0.0.5:22 for user offload with the control"
        + " plane's key SHA256:abc: add that public key to the runner's authorized keys for offload";
    String error = ",\"runnerError\":{\"runner\":\"vm-a\",\"message\":\"" + refused + "\",\"at\":\"2026-11-28T10:00:01Z\"}}";
    String waiting = PROVISIONING.substring(0, PROVISIONING.length() - 1) + error;
    String ended = TERMINATED.replace("provisioning-failed", "provisioning-timeout");
    ended = ended.substring(0, ended.length() - 1) + error;
    Cli cli = new Cli(Cli.temp("offload-start"));
    try (FakeApi api = new FakeApi()) {
      api.answer("POST /v1/sessions", 201, PROVISIONING)
          .answer("GET /v1/sessions/s-9/events", 200, "event: state\ndata: " + PROVISIONING
              + "\n\nevent: runner-error\ndata: " + waiting + "\n\nevent: state\ndata: " + ended + "\n\n");
      cli.store().save(new ConfigStore.Config(api.url(), "tok", null, null));

      Cli.Run run = cli.run("start", "--gpu", "--org", "acme");

      assertEquals(1, run.exit(), run.toString());
      assertTrue(run.err().contains("Session s-9 is still waiting for a runner: runner vm-a: " + refused + "\n"),
          run.toString());
      assertTrue(run.err().endsWith("session s-9 ended while starting (provisioning-timeout: runner vm-a: " + refused
          + "): run offload start again, or offload diagnose if it keeps failing\n"), run.toString());
    }
  }
}
