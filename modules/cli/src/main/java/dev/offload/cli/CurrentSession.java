package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which session {@code stop} and {@code status} mean: the one named, else the bridge's, else the
 * only live session the token sees (a user has one by default, so this is usually unambiguous).
 */
final class CurrentSession {
  private static final List<String> LIVE = List.of("provisioning", "active", "grace-period", "idle");

  private CurrentSession() {}

  static String resolve(ApiClient api, ConfigStore store, String named) {
    if (named != null) return named;
    return find(api, store).orElseThrow(() -> new CliFailure("no live session: start one with offload start"));
  }

  /** The bridged session, else the only live one; empty when there is none, a failure when several. */
  static Optional<String> find(ApiClient api, ConfigStore store) {
    var state = store.state();
    if (state.isPresent()) return Optional.of(state.get().session());
    List<String> live = new ArrayList<>();
    for (String phase : LIVE) {
      for (JsonNode s : api.get("/v1/sessions?limit=10&state=" + phase).path("sessions")) {
        live.add(s.path("id").asText());
      }
    }
    if (live.size() > 1) {
      throw new CliFailure("several live sessions (" + String.join(", ", live) + "): name one, e.g. offload stop " + live.get(0));
    }
    return live.stream().findFirst();
  }
}
