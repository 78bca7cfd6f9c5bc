package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "stop", description = "Terminate the current session and its local bridge.")
final class StopCommand implements Runnable {
  @ParentCommand Offload offload;

  @Parameters(index = "0", arity = "0..1", paramLabel = "SESSION", description = "default: the bridged or only live session")
  String session;

  @Option(names = "--force",
      description = "kill the bridge, and forget the session locally even when the server cannot stop it")
  boolean force;

  @Option(names = "--json", description = "print the terminated session as the server's JSON")
  boolean json;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    PrintWriter err = offload.spec.commandLine().getErr();
    ConfigStore store = offload.store();
    ApiClient api = ApiClient.of(store.require());
    // Taken before the session ends: the bridge notices the end by itself and may exit first.
    Optional<ProcessHandle> bridge = BackgroundBridge.running(store);
    JsonNode stopped = null;
    CliFailure serverFailure = null;
    try {
      String id = CurrentSession.resolve(api, store, session);
      stopped = api.delete("/v1/sessions/" + id);
    } catch (CliFailure e) {
      if (!force) throw e;
      serverFailure = e;
    }
    bridge.ifPresent(process -> BackgroundBridge.stop(process, force));
    store.clearState();
    if (serverFailure != null) {
      err.println("the session was forgotten locally but not stopped: " + serverFailure.getMessage());
      err.flush();
      return;
    }
    if (json) {
      Table.json(out, stopped);
      return;
    }
    out.println("Session " + stopped.path("id").asText() + " " + stopped.path("state").asText()
        + " (" + Table.text(stopped.path("terminationReason")) + ")" + (bridge.isPresent() ? "; bridge stopped" : ""));
    out.flush();
  }
}
