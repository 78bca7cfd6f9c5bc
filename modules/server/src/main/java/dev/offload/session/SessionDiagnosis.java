package dev.offload.session;

import dev.offload.org.Principal;
import dev.offload.runner.RunnerDiagnosis.Check;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * {@code GET /v1/sessions/{id}/diagnose} (api.md): the runner over SSH and its engine, the
 * session's open tunnel connections, the server's clock (the client compares it with its own)
 * and the journal. Every check answers, ok or not, with what it saw.
 */
public final class SessionDiagnosis {
  private final Sessions sessions;
  private final Function<String, CompletionStage<List<Check>>> runnerChecks;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Clock clock;

  public SessionDiagnosis(Sessions sessions, Function<String, CompletionStage<List<Check>>> runnerChecks,
      DataSource dataSource, Executor blocking, Clock clock) {
    this.sessions = sessions;
    this.runnerChecks = runnerChecks;
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.clock = clock;
  }

  public CompletionStage<List<Check>> diagnose(Principal caller, String id) {
    return sessions.get(caller, id).thenCompose(view -> {
      SessionState s = view.state();
      CompletionStage<List<Check>> runner = s.hasRunner() && !s.isTerminated()
          ? runnerChecks.apply(s.runnerId())
          : CompletableFuture.completedFuture(List.of(new Check("runner reachable over SSH", false,
              (s.isTerminated()
                  ? "the session is terminated (" + s.terminationReason() + "); its runner was released"
                  : "no runner yet: the session is " + s.phase().apiName)
                  + (s.runnerError() == null ? ""
                      : "; runner " + s.runnerError().runnerId() + " failed: " + s.runnerError().message()))));
      return runner.thenCombine(journal(), (runnerResults, journal) -> {
        List<Check> checks = new ArrayList<>(runnerResults);
        checks.add(new Check("tunnel connections", true, view.openConnections() + " open"));
        checks.add(new Check("server clock", true, clock.instant().toString()));
        checks.add(journal);
        return List.copyOf(checks);
      });
    });
  }

  private CompletionStage<Check> journal() {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
        st.executeQuery("SELECT 1 FROM event_journal LIMIT 1").close();
        return new Check("journal reachable", true, "the journal answers");
      } catch (SQLException e) {
        return new Check("journal reachable", false, "the journal does not answer: " + e.getMessage());
      }
    }, blocking);
  }
}
