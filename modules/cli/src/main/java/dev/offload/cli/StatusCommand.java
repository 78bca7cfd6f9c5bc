package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "status", description = "The session's state, runner and idle countdown.")
final class StatusCommand implements Runnable {
  @ParentCommand Offload offload;

  @Parameters(index = "0", arity = "0..1", paramLabel = "SESSION", description = "default: the bridged or only live session")
  String session;

  @Option(names = "--watch", description = "follow the session's transitions until it terminates")
  boolean watch;

  @Option(names = "--json", description = "the server's session JSON (with --watch: one per line per event)")
  boolean json;

  @Override
  public void run() {
    PrintWriter out = offload.spec.commandLine().getOut();
    ConfigStore store = offload.store();
    ApiClient api = ApiClient.of(store.require());
    String id = CurrentSession.resolve(api, store, session);
    if (watch) {
      api.follow("/v1/sessions/" + id + "/events", (event, data) -> {
        if (json) Table.json(out, data);
        else if (event.equals("warning")) out.println(Table.instant(data.path("at")) + "  warning: " + data.path("warning").asText());
        else if (event.equals("runner-error")) out.println(Instant.now().truncatedTo(ChronoUnit.SECONDS) + "  "
            + data.path("state").asText() + "  " + StartCommand.runnerError(data));
        else out.println(Instant.now().truncatedTo(ChronoUnit.SECONDS) + "  " + data.path("state").asText()
            + "  idle in " + idle(data));
        out.flush();
        return true;
      });
      return;
    }
    JsonNode s = api.get("/v1/sessions/" + id);
    if (json) {
      Table.json(out, s);
      return;
    }
    var bridge = store.state().filter(b -> b.session().equals(id) && LocalBridge.alive(store, b));
    new Table("SESSION", id)
        .row("state", s.path("state").asText() + (s.path("terminationReason").isNull() ? "" : " (" + s.path("terminationReason").asText() + ")"))
        .row("runner", Table.text(s.path("runner").path("id")) + " (" + s.path("runnerClass").asText() + ")")
        .row("runner error", Optional.ofNullable(StartCommand.runnerError(s)).orElse("-"))
        .row("idle in", idle(s))
        .row("expires in", expiry(s))
        .row("connections", s.path("openConnections").asText() + " open, " + s.path("runningContainers").asText() + " containers running")
        .row("ports", ports(s))
        .row("local bridge", bridge.map(b -> "127.0.0.1:" + b.port() + (b.pid() == null ? "" : " (pid " + b.pid() + ")")).orElse("- (offload start opens one)"))
        .print(out);
  }

  /** What the running containers publish on the runner: {@code 8080→80/tcp web}; the bridge forwards the TCP ones. */
  private static String ports(JsonNode session) {
    List<String> ports = new ArrayList<>();
    for (JsonNode p : session.path("ports")) {
      ports.add(p.path("hostPort").asText() + "→" + p.path("containerPort").asText() + "/" + p.path("protocol").asText()
          + (p.path("name").asText("").isEmpty() ? "" : " " + p.path("name").asText()));
    }
    return ports.isEmpty() ? "-" : String.join(", ", ports);
  }

  /** The idle countdown: idleAt minus now, which only counts down in the grace period (lifecycle.md). */
  private static String idle(JsonNode session) {
    return session.path("state").asText().equals("grace-period") ? countdown(session.path("idleAt")) : "-";
  }

  /** An idle session's runner is wiped at expiresAt unless something resumes it first. */
  private static String expiry(JsonNode session) {
    return session.path("state").asText().equals("idle") ? countdown(session.path("expiresAt")) : "-";
  }

  private static String countdown(JsonNode at) {
    if (at.isNull() || at.isMissingNode()) return "-";
    return Table.duration(Duration.between(Instant.now(), Instant.parse(at.asText()))) + " (at " + Table.instant(at) + ")";
  }
}
