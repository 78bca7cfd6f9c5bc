package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "sessions", description = "Your sessions, newest first (an owner sees the organisation's).")
final class SessionsCommand implements Runnable {
  @ParentCommand Offload offload;

  @Option(names = "--state", paramLabel = "STATE", description = "provisioning, active, grace-period, idle or terminated")
  String state;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "1 to 500 (default ${DEFAULT-VALUE})")
  int limit;

  @Option(names = "--json", description = "the server's JSON")
  boolean json;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    ApiClient api = ApiClient.of(offload.store().require());
    JsonNode page = api.get("/v1/sessions?limit=" + limit + (state == null ? "" : "&state=" + ApiClient.query(state)));
    if (json) {
      Table.json(out, page);
      return;
    }
    Table table = new Table("ID", "STATE", "RUNNER CLASS", "CREATED", "TERMINATED");
    for (JsonNode s : page.path("sessions")) {
      table.row(s.path("id").asText(), s.path("state").asText(), s.path("runnerClass").asText(),
          Table.instant(s.path("createdAt")), Table.text(s.path("terminationReason")));
    }
    table.print(out);
  }
}
