package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.org.Organisations;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.tunnel.TunnelRoutes;
import io.prometheus.metrics.core.metrics.Histogram;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** Binds the API and unbinds it on coordinated shutdown. */
public final class HttpServer {

  private static final Histogram LATENCY =
      Histogram.builder()
          .name("offload_http_request_duration_seconds")
          .help("HTTP API latency by method and status")
          .labelNames("method", "status")
          .register();

  private HttpServer() {}

  public static Route routes(
      ActorSystem<?> system, Organisations organisations, Sessions sessions, SessionUpdates updates,
      TunnelRoutes tunnels, DataSource dataSource, Executor blocking, long maxBody, String version) {
    Authentication auth = new Authentication(organisations);
    SessionRoutes sessionRoutes = new SessionRoutes(sessions, updates, maxBody, tunnels);
    OrgRoutes orgRoutes = new OrgRoutes(organisations, sessions, maxBody);
    OpsRoutes ops = new OpsRoutes(system, dataSource, blocking, version);
    Route api = concat(
        ops.routes(),
        pathPrefix("v1", () -> auth.authenticated(caller ->
            concat(sessionRoutes.routes(caller), orgRoutes.routes(caller)))));
    return timed(withRequestTimeoutResponse(
        request -> ErrorResponses.of(new ClientError(ClientError.Code.UNAVAILABLE,
            "the request took too long; retry in a few seconds")),
        () -> handleExceptions(ErrorResponses.EXCEPTIONS, () ->
            handleRejections(ErrorResponses.REJECTIONS, () ->
                handleExceptions(ErrorResponses.EXCEPTIONS, () -> api)))));
  }

  private static Route timed(Route inner) {
    return extractRequest(request -> {
      long start = System.nanoTime();
      return mapResponse(response -> {
        LATENCY.labelValues(request.method().name(), String.valueOf(response.status().intValue()))
            .observe((System.nanoTime() - start) / 1e9);
        return response;
      }, () -> inner);
    });
  }

  public static CompletionStage<InetSocketAddress> start(
      ActorSystem<?> system, Route routes, String host, int port) {
    return Http.get(system).newServerAt(host, port).bind(routes)
        .thenApply(binding -> {
          binding.addToCoordinatedShutdown(Duration.ofSeconds(10), system);
          return binding.localAddress();
        });
  }
}
