package dev.offload.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "version", description = "The client's version and the server's.")
final class VersionCommand implements Runnable {
  @ParentCommand Offload offload;

  @Option(names = "--json", description = "{\"client\": ..., \"server\": the server's /version}")
  boolean json;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    var config = offload.store().load();
    ObjectNode both = ConfigStore.JSON.createObjectNode().put("client", Offload.version());
    if (config.isEmpty()) {
      if (json) Table.json(out, both.putNull("server"));
      else out.println("client  " + Offload.version() + "\nserver  - (not logged in: offload login --server URL --token TOKEN)");
      out.flush();
      return;
    }
    if (!json) {
      // The client's version is known even when the server cannot be reached.
      out.println("client  " + Offload.version());
      out.flush();
    }
    var server = new ApiClient(config.get().server(), null, config.get().ca()).get("/version");
    if (json) {
      both.set("server", server);
      Table.json(out, both);
      return;
    }
    out.println("server  " + server.path("version").asText() + " at " + config.get().server());
    out.flush();
  }
}
