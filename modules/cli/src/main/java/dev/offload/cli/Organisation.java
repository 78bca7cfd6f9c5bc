package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;

/** Which organisation a command is about, when the user did not say. */
final class Organisation {
  private Organisation() {}

  static String choose(String given, ApiClient api, ConfigStore.Config config) {
    if (given != null) return given;
    if (config.org() != null) return config.org();
    // No whoami endpoint: a session carries its organisation, and the newest is the likeliest.
    JsonNode newest = api.get("/v1/sessions?limit=1").path("sessions").path(0).path("org");
    if (newest.isTextual()) return newest.asText();
    throw new UsageFailure("say which organisation: --org ORG (or store one with offload login --org ORG)");
  }
}
