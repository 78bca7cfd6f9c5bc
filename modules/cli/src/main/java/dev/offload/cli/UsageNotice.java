package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;

/** What {@code offload start} says first: committed time left and the on-demand price. */
final class UsageNotice {
  private UsageNotice() {}

  /** Never stops a start: without an organisation or a usage view, it says nothing. */
  static void show(ApiClient api, ConfigStore.Config config, String org, String runnerClass, PrintWriter err) {
    JsonNode usage;
    String organisation;
    try {
      organisation = Organisation.choose(org, api, config);
      usage = api.get("/v1/orgs/" + ApiClient.query(organisation) + "/usage");
    } catch (CliFailure | UsageFailure e) {
      return;
    }
    if (!usage.path("metered").asBoolean()) {
      err.println("Usage of " + organisation + " is not metered.");
      return;
    }
    String left = Table.duration(Duration.ofSeconds(usage.path("committed").path("remainingSeconds").asLong()));
    String onDemand = "off";
    if (usage.path("onDemand").path("enabled").asBoolean()) {
      onDemand = "on";
      for (JsonNode rate : usage.path("rates")) {
        if (rate.path("runnerClass").asText().equals(runnerClass)) {
          onDemand = String.format("on, %.0f¢ an hour for %s", rate.path("centsPerHour").asDouble(), runnerClass);
        }
      }
    }
    err.println("Committed usage left this month: " + left + "; on-demand usage: " + onDemand + ".");
  }
}
