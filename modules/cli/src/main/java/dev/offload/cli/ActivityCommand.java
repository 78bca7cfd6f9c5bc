package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "activity", description = "Sessions with their duration and charged time (an owner sees the organisation's).")
final class ActivityCommand implements Runnable {
  @ParentCommand Offload offload;

  @Mixin Organisation organisation;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "1 to 500 (default ${DEFAULT-VALUE})")
  int limit;

  @Option(names = "--json", description = "the server's JSON")
  boolean json;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    ConfigStore.Config config = offload.store().require();
    ApiClient api = ApiClient.of(config);
    JsonNode page = api.get("/v1/orgs/" + ApiClient.query(organisation.choose(api, config)) + "/activity?limit=" + limit);
    if (json) {
      Table.json(out, page);
      return;
    }
    Table table = new Table("ID", "USER", "STARTED", "DURATION", "CHARGED", "CONTAINERS");
    for (JsonNode s : page.path("sessions")) {
      table.row(s.path("id").asText(), s.path("user").asText(), Table.instant(s.path("startedAt")),
          Table.duration(Duration.ofSeconds(s.path("durationSeconds").asLong())),
          Table.duration(Duration.ofSeconds(s.path("billableSeconds").asLong())), s.path("containers").asText());
    }
    table.print(out);
  }
}
