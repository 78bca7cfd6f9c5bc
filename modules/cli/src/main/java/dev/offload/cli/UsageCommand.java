package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "usage", description = "This month's usage: committed time left, on-demand, sessions and top images.")
final class UsageCommand implements Runnable {
  @ParentCommand Offload offload;

  @Option(names = "--month", paramLabel = "YYYY-MM", description = "default: the current UTC month")
  String month;

  @Mixin Organisation organisation;

  @Option(names = "--json", description = "the server's JSON")
  boolean json;

  @Override
  public void run() {
    if (month != null) {
      Organisation.checkMonth(month);
    }
    PrintWriter out = offload.spec.commandLine().getOut();
    ConfigStore.Config config = offload.store().require();
    ApiClient api = ApiClient.of(config);
    String org = organisation.choose(api, config);
    JsonNode u = api.get("/v1/orgs/" + ApiClient.query(org) + "/usage" + (month == null ? "" : "?month=" + month));
    if (json) {
      Table.json(out, u);
      return;
    }
    Table summary = new Table("MONTH", "COMMITTED LEFT", "COMMITTED USED", "ON-DEMAND", "SESSIONS", "CHARGED", "MINE");
    summary.row(u.path("month").asText(),
        u.path("metered").asBoolean() ? seconds(u.path("committed").path("remainingSeconds")) : "not metered",
        seconds(u.path("committed").path("usedSeconds")),
        u.path("onDemand").path("enabled").asBoolean()
            ? seconds(u.path("onDemand").path("seconds")) + " (" + u.path("onDemand").path("cents").asLong() + "¢)" : "off",
        u.path("sessions").path("count").asText(), seconds(u.path("sessions").path("billableSeconds")),
        seconds(u.path("mySessions").path("totalSeconds")));
    summary.print(out);
    if (u.path("topImages").size() > 0) {
      out.println();
      Table images = new Table("IMAGE", "RUNS");
      for (JsonNode i : u.path("topImages")) images.row(i.path("image").asText(), i.path("runs").asText());
      images.print(out);
    }
  }

  private static String seconds(JsonNode node) {
    return Table.duration(Duration.ofSeconds(node.asLong()));
  }
}
