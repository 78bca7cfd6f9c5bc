package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "audit", description = "Replay the journal and compare it with the ledger (owners): ok, or what differs.")
final class AuditCommand implements Runnable {
  @ParentCommand Offload offload;

  @Option(names = "--month", paramLabel = "YYYY-MM", required = true, description = "the UTC month to audit")
  String month;

  @Mixin Organisation organisation;

  @Option(names = "--json", description = "the server's JSON report")
  boolean json;

  @Override
  public void run() {
    Organisation.checkMonth(month);
    PrintWriter out = offload.spec.commandLine().getOut();
    ConfigStore.Config config = offload.store().require();
    ApiClient api = ApiClient.of(config);
    String org = organisation.choose(api, config);
    JsonNode report = api.get("/v1/orgs/" + ApiClient.query(org) + "/audit?month=" + month);
    if (json) {
      Table.json(out, report);
    } else {
      print(out, report);
    }
    if (!report.path("ok").asBoolean()) {
      throw new CliFailure("the audit of " + org + " " + month + " found problems: see above");
    }
  }

  private static void print(PrintWriter out, JsonNode r) {
    Table summary = new Table("ORG", "MONTH", "SESSIONS", "EVENTS", "LEDGER", "REPLAYED", "OK");
    summary.row(r.path("org").asText(), r.path("month").asText(), r.path("sessions").asText(), r.path("events").asText(),
        r.path("ledgerSeconds").asText() + " s", r.path("replayedSeconds").asText() + " s", r.path("ok").asBoolean() ? "✓" : "✗");
    summary.print(out);
    if (r.path("discrepancies").size() > 0) {
      out.println();
      Table t = new Table("SESSION", "LEDGER", "REPLAYED", "REASON");
      for (JsonNode d : r.path("discrepancies")) {
        t.row(d.path("session").asText(), d.path("ledgerSeconds").asText() + " s", d.path("replayedSeconds").asText() + " s",
            d.path("reason").asText());
      }
      t.print(out);
    }
    if (r.path("chainBreaks").size() > 0) {
      out.println();
      Table t = new Table("SESSION", "EVENT", "CHAIN BREAK");
      for (JsonNode b : r.path("chainBreaks")) {
        t.row(b.path("session").asText(), b.path("sequenceNr").asText(), b.path("reason").asText());
      }
      t.print(out);
    }
    out.println();
    out.println("read up to " + r.path("readUpTo").asText() + ", digest " + r.path("digest").asText());
  }
}
