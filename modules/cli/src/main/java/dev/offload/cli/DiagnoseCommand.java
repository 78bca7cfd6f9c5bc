package dev.offload.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "diagnose", description = "Check login, server, token, clock and local bridge, then the server's checks of your session.")
final class DiagnoseCommand implements Runnable {
  /** Session deadlines are computed by the server; beyond this the countdowns shown here mislead. */
  private static final Duration MAX_SKEW = Duration.ofSeconds(5);

  @ParentCommand Offload offload;

  @Option(names = "--json", description = "{\"checks\": [{\"name\", \"ok\", \"detail\"}]}")
  boolean json;

  private record Check(String name, boolean ok, String detail) {}

  private final List<Check> checks = new ArrayList<>();

  @Override
  public void run() {
    ConfigStore store = offload.store();
    Optional<ConfigStore.Config> config;
    try {
      config = store.load();
      check("config", config.isPresent(), config.isPresent() ? "logged in to " + config.get().server() + " (" + store.configFile() + ")"
          : "no " + store.configFile() + ": run offload login --server URL --token TOKEN");
    } catch (CliFailure e) {
      config = Optional.empty();
      check("config", false, e.getMessage());
    }
    boolean serverAnswers = config.isPresent() && server(config.get());
    bridge(store);
    if (serverAnswers) session(config.get(), store);
    report();
  }

  /** The server's own checks of the current session: its runner, engine, tunnels and journal. */
  private void session(ConfigStore.Config config, ConfigStore store) {
    ApiClient api = ApiClient.of(config);
    try {
      Optional<String> id = CurrentSession.find(api, store);
      if (id.isEmpty()) {
        check("session", true, "no live session (offload start starts one)");
        return;
      }
      for (var c : api.get("/v1/sessions/" + ApiClient.query(id.get()) + "/diagnose").path("checks")) {
        check("session " + c.path("name").asText(), c.path("ok").asBoolean(), c.path("detail").asText());
      }
    } catch (CliFailure e) {
      check("session", false, e.getMessage());
    }
  }

  /** Whether the server answered and accepted the token, so that asking it more makes sense. */
  private boolean server(ConfigStore.Config config) {
    ApiClient anonymous = new ApiClient(config.server(), null, config.ca());
    ApiClient.Reply version;
    try {
      version = anonymous.send("GET", "/version", null);
      check("server", true, config.server() + " answers (version " + version.json().path("version").asText() + ")");
    } catch (CliFailure e) {
      check("server", false, e.getMessage());
      return false;
    }
    boolean accepted;
    try {
      ApiClient.of(config).get("/v1/sessions?limit=1");
      check("token", true, "accepted");
      accepted = true;
    } catch (CliFailure e) {
      check("token", false, e.getMessage());
      accepted = false;
    }
    if (version.date() != null) {
      Instant serverTime = ZonedDateTime.parse(version.date(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration skew = Duration.between(serverTime, Instant.now()).abs();
      // The Date header has whole seconds: a second of difference is only rounding.
      boolean ok = skew.compareTo(MAX_SKEW) <= 0;
      check("clock", ok, ok ? "within " + skew.toSeconds() + " s of the server"
          : "this machine's clock is " + skew.toSeconds() + " s off the server's: synchronise it (NTP)");
    }
    return accepted;
  }

  private void bridge(ConfigStore store) {
    Optional<ConfigStore.BridgeState> state;
    try {
      state = store.state();
    } catch (CliFailure e) {
      check("bridge", false, e.getMessage());
      return;
    }
    if (state.isEmpty()) {
      check("bridge", true, "no local bridge (offload start opens one)");
      return;
    }
    int port = state.get().port();
    boolean detached = state.get().pid() != null;
    if (detached && BackgroundBridge.running(store).isEmpty()) {
      check("bridge", false, "the background bridge (pid " + state.get().pid() + ") is not running: run offload start --detach");
    } else if (!LocalBridge.listening(port)) {
      check("bridge", false, "nothing listens on 127.0.0.1:" + port + ": run offload start");
    } else {
      check("bridge", true, "127.0.0.1:" + port + " bridges session " + state.get().session()
          + (detached ? " (pid " + state.get().pid() + ")" : ""));
    }
  }

  private void check(String name, boolean ok, String detail) {
    checks.add(new Check(name, ok, detail));
  }

  private void report() {
    PrintWriter out = offload.spec.commandLine().getOut();
    if (json) {
      ObjectNode body = ConfigStore.JSON.createObjectNode();
      ArrayNode list = body.putArray("checks");
      for (Check c : checks) list.addObject().put("name", c.name()).put("ok", c.ok()).put("detail", c.detail());
      Table.json(out, body);
    } else {
      for (Check c : checks) out.println((c.ok() ? "✓ " : "✗ ") + c.name() + ": " + c.detail());
      out.flush();
    }
    long failed = checks.stream().filter(c -> !c.ok()).count();
    if (failed > 0) throw new CliFailure(failed + " check(s) failed: follow the hints above");
  }
}
