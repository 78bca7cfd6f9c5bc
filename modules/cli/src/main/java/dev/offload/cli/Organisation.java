package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Option;

/**
 * {@code --org} of the commands about one organisation, and which organisation they are about
 * when the user did not say: used as a picocli mixin.
 */
final class Organisation {
  @Option(names = "--org", paramLabel = "ORG", description = "default: the organisation given to login, else your newest session's")
  String given;

  String choose(ApiClient api, ConfigStore.Config config) {
    return choose(given, api, config);
  }

  static String choose(String given, ApiClient api, ConfigStore.Config config) {
    if (given != null) return given;
    if (config.org() != null) return config.org();
    // No whoami endpoint: a session carries its organisation, and the newest is the likeliest.
    JsonNode newest = api.get("/v1/sessions?limit=1").path("sessions").path(0).path("org");
    if (newest.isTextual()) return newest.asText();
    throw new UsageFailure("say which organisation: --org ORG (or store one with offload login --org ORG)");
  }

  /** A {@code --month} as the API takes it, refused here with usage help rather than by the server. */
  static void checkMonth(String month) {
    try {
      java.time.YearMonth.parse(month);
    } catch (java.time.format.DateTimeParseException e) {
      throw new UsageFailure("--month must be written YYYY-MM, e.g. 2026-11");
    }
  }
}
