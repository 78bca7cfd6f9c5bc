package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Follows a bridged session's events so that a session stopped elsewhere, or wiped after its
 * preservation window, closes its bridge instead of leaving a listener whose every connection is
 * refused, and hands on the ports the session's containers publish (every {@code state} event
 * carries the whole list, a {@code ports} event the list after a change). A broken stream is
 * followed again: the server may restart or the network drop.
 */
final class SessionWatch {
  static final Duration RETRY = Duration.ofSeconds(5);

  private SessionWatch() {}

  static void start(ApiClient api, String session, Duration retry, Consumer<JsonNode> ports,
      Consumer<JsonNode> terminated) {
    Thread watch = new Thread(() -> {
      while (true) {
        JsonNode[] end = {null};
        try {
          api.follow("/v1/sessions/" + session + "/events", (event, data) -> {
            if (event.equals("state") || event.equals("ports")) ports.accept(data.path("ports"));
            if (event.equals("state") && data.path("state").asText().equals("terminated")) end[0] = data;
            return end[0] == null;
          });
        } catch (CliFailure unreachable) {
          // Tunnels report their own failures; this only has to find out about the end later.
        }
        if (end[0] != null) {
          terminated.accept(end[0]);
          return;
        }
        LockSupport.parkNanos(retry.toNanos());
      }
    }, "offload-session-watch");
    watch.setDaemon(true);
    watch.start();
  }
}
