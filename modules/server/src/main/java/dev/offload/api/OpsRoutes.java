package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.Route;
import dev.offload.storage.JournalReadiness;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** /health/alive, /health/ready, /version and /metrics: no token, for probes and scrapers. */
final class OpsRoutes {
  private final ActorSystem<?> system;
  private final DataSource dataSource;
  private final Executor blocking;
  private final String version;
  private final JournalReadiness journalReadiness;

  OpsRoutes(ActorSystem<?> system, DataSource dataSource, Executor blocking, String version) {
    this.system = system;
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.version = version;
    this.journalReadiness = new JournalReadiness(system.classicSystem());
  }

  Route routes() {
    return concat(
        path(akka.http.javadsl.server.PathMatchers.segment("health").slash("alive"), () -> get(() -> Json.ok(Map.of("status", "alive")))),
        path(akka.http.javadsl.server.PathMatchers.segment("health").slash("ready"), () -> get(() ->
            onSuccess(readiness(), checks -> {
              boolean ready = !checks.containsValue(false);
              Map<String, Object> body = new LinkedHashMap<>();
              body.put("status", ready ? "ready" : "not-ready");
              body.put("checks", checks);
              return complete(Json.response(ready ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, body));
            }))),
        path("version", () -> get(() -> Json.ok(Map.of("version", version, "akka", akka.Version.current())))),
        path("metrics", () -> get(() ->
            onSuccess(CompletableFuture.supplyAsync(OpsRoutes::scrape, blocking), text ->
                complete(HttpResponse.create().withEntity(HttpEntities.create(
                    ContentTypes.create(akka.http.javadsl.model.MediaTypes.TEXT_PLAIN,
                        akka.http.javadsl.model.HttpCharsets.UTF_8), text)))))));
  }

  /**
   * Ready only when this node is an Up cluster member (it joined, and is not leaving), the
   * product's tables answer and the journal answers through its own pool.
   */
  private CompletionStage<Map<String, Boolean>> readiness() {
    CompletableFuture<Boolean> database = CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        return c.isValid(2);
      } catch (SQLException e) {
        return false;
      }
    }, blocking);
    CompletableFuture<Boolean> journal = journalReadiness.get().toCompletableFuture();
    return database.thenCombine(journal, (db, j) -> {
      Map<String, Boolean> checks = new LinkedHashMap<>();
      checks.put("cluster", Cluster.get(system).selfMember().status() == MemberStatus.up());
      checks.put("database", db);
      checks.put("journal", j);
      return checks;
    });
  }

  private static String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      new PrometheusTextFormatWriter(false).write(out, PrometheusRegistry.defaultRegistry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
