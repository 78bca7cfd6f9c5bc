package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Set;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "start", description = "Start a session and bridge the local docker client to it.")
final class StartCommand implements Runnable {
  /** States in which the runner is leased and the tunnel accepted (idle resumes on connect). */
  private static final Set<String> RUNNING = Set.of("active", "grace-period", "idle");

  @ParentCommand Offload offload;

  @Option(names = "--gpu", description = "a runner with a GPU")
  boolean gpu;

  @Option(names = "--org", paramLabel = "ORG", description = "needed when your token belongs to several organisations")
  String org;

  @Option(names = "--idle-timeout", paramLabel = "DURATION", converter = IdleTimeout.class,
      description = "e.g. 5m, 300s or 300")
  Integer idleTimeout;

  @Option(names = "--port", paramLabel = "N", defaultValue = "0", description = "local port (default: a free one)")
  int port;

  @Option(names = "--detach", description = "bridge from a background process and return")
  boolean detach;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    PrintWriter err = offload.spec.commandLine().getErr();
    ConfigStore store = offload.store();
    ConfigStore.Config config = store.require();
    ApiClient api = ApiClient.of(config);
    UsageNotice.show(api, config, org, gpu ? "gpu" : "standard", err);

    ObjectNode request = ConfigStore.JSON.createObjectNode();
    if (org != null) request.put("org", org);
    if (gpu) request.put("runnerClass", "gpu");
    if (idleTimeout != null) request.put("idleTimeoutSeconds", idleTimeout);
    JsonNode session = api.post("/v1/sessions", request);
    String id = session.path("id").asText();
    err.println("Session " + id + " (" + session.path("runnerClass").asText() + "): " + session.path("state").asText());
    err.flush();
    awaitRunning(api, id, session.path("state").asText(), err);

    if (detach) {
      // One bridge per user: a new session replaces the old bridge, the same one keeps it.
      var previous = store.state().filter(s -> BackgroundBridge.running(store).isPresent());
      if (previous.isPresent() && previous.get().session().equals(id)) {
        announce(previous.get().port(), out, err);
        err.println("Session " + id + " is already bridged in the background (pid " + previous.get().pid() + ")");
        err.flush();
        return;
      }
      BackgroundBridge.running(store).ifPresent(old -> BackgroundBridge.stop(old, false));
      store.clearState();
      ConfigStore.BridgeState state = BackgroundBridge.launch(store, offload.env(), id, port);
      announce(state.port(), out, err);
      err.println("Bridge running in the background (pid " + state.pid() + ", log " + store.logFile()
          + ", state " + store.stateFile() + "); offload stop ends the session and the bridge");
      err.flush();
      return;
    }
    Consumer<String> lines = line -> {
      err.println(line);
      err.flush();
    };
    try (LocalBridge bridge = new LocalBridge(api, id, port, lines);
        PortForwards ports = new PortForwards(api, id, lines)) {
      store.saveState(new ConfigStore.BridgeState(id, bridge.port(), null));
      SessionWatch.start(api, id, SessionWatch.RETRY, ports::update, ended -> {
        String error = runnerError(ended);
        err.println("Session " + id + " terminated (" + Table.text(ended.path("terminationReason"))
            + (error == null ? "" : ": " + error) + "); the bridge is closed: start a new session with offload start");
        err.flush();
        store.state().filter(s -> s.session().equals(id)).ifPresent(s -> store.clearState());
        ports.close();
        bridge.close();
      });
      announce(bridge.port(), out, err);
      err.println("Bridging to session " + id + "; Ctrl-C closes the bridge, the session runs on until offload stop or idle");
      err.flush();
      bridge.serve();
    }
  }

  private void announce(int localPort, PrintWriter out, PrintWriter err) {
    out.println("export DOCKER_HOST=tcp://127.0.0.1:" + localPort);
    out.flush();
    DockerContext.point(localPort, offload.env(), err);
  }

  /** Shows each transition while the runner is provisioned; fails if the session ends instead. */
  private static void awaitRunning(ApiClient api, String id, String initial, PrintWriter err) {
    if (RUNNING.contains(initial)) return;
    String[] last = {initial};
    JsonNode[] ended = {null};
    String[] lastError = {null};
    api.follow("/v1/sessions/" + id + "/events", (event, data) -> {
      if (event.equals("warning")) return true;
      String state = data.path("state").asText();
      if (!state.equals(last[0])) {
        err.println("Session " + id + ": " + state);
        err.flush();
        last[0] = state;
      }
      String error = runnerError(data);
      if (error != null && !error.equals(lastError[0]) && !state.equals("terminated")) {
        // The wait has a reason the operator can act on: say it rather than wait in silence.
        err.println("Session " + id + " is still waiting for a runner: " + error);
        err.flush();
      }
      lastError[0] = error;
      if (state.equals("terminated")) ended[0] = data;
      return !RUNNING.contains(state) && ended[0] == null;
    });
    if (RUNNING.contains(last[0])) return;
    JsonNode now = ended[0] != null ? ended[0] : api.get("/v1/sessions/" + id);
    String state = now.path("state").asText();
    if (RUNNING.contains(state)) return;
    if (!state.equals("terminated")) {
      throw new CliFailure("the server stopped reporting progress while session " + id + " was " + state
          + ": follow it with offload status --watch, or end it with offload stop");
    }
    String error = runnerError(now);
    throw new CliFailure("session " + id + " ended while starting (" + Table.text(now.path("terminationReason"))
        + (error == null ? "" : ": " + error)
        + "): run offload start again, or offload diagnose if it keeps failing");
  }

  /** The session's {@code runnerError} as one line, or null when it has none. */
  static String runnerError(JsonNode session) {
    JsonNode error = session.path("runnerError");
    if (error.isMissingNode() || error.isNull()) return null;
    return "runner " + error.path("runner").asText() + ": " + error.path("message").asText();
  }
}
