package dev.offload.api;

import static akka.http.javadsl.server.Directives.*;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBuilder;
import akka.http.javadsl.server.Route;
import dev.offload.ClientError;
import dev.offload.billing.Audit;
import dev.offload.org.Organisations;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.tunnel.TunnelRoutes;
import dev.offload.ui.UiRoutes;
import com.typesafe.config.Config;
import io.prometheus.metrics.core.metrics.Histogram;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
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

  public static Route routes(ActorSystem<?> system, ApiServices services, long maxBody, String version) {
    java.time.Duration askTimeout = system.settings().config().getDuration("offload.ask-timeout");
    Json.BodyLimit bodyLimit = new Json.BodyLimit(maxBody,
        system.settings().config().getDuration("offload.http.body-timeout").toMillis());
    java.time.Clock clock = java.time.Clock.systemUTC();
    Config limit = system.settings().config().getConfig("offload.http.rate-limit");
    Authentication auth = new Authentication(services.organisations(), new TokenBuckets(
        limit.getDouble("requests-per-second"), limit.getInt("burst"), System::nanoTime));
    SessionRoutes sessionRoutes = new SessionRoutes(
        services.sessions(), services.updates(), services.diagnosis(), bodyLimit, services.tunnels());
    OrgRoutes orgRoutes = new OrgRoutes(services.organisations(), services.sessions(), bodyLimit);
    AuditRoutes auditRoutes = new AuditRoutes(services.audit(), services.blocking(), clock);
    ActivityRoutes activityRoutes = new ActivityRoutes(services.sessions(), clock);
    GrantRoutes grantRoutes = new GrantRoutes(system, services.organisations(), bodyLimit, askTimeout);
    RunnerRoutes runnerRoutes = new RunnerRoutes(system, services.runnerPool(), askTimeout);
    UsageRoutes usageRoutes = new UsageRoutes(services.usage(), clock);
    WebhookRoutes webhookRoutes = new WebhookRoutes(services.webhooks(), bodyLimit);
    OpsRoutes ops = new OpsRoutes(system, services.dataSource(), services.blocking(), version);
    CallerRoutes callerRoutes = new CallerRoutes();
    Route api = concat(
        ops.routes(),
        UiRoutes.routes(),
        pathPrefix("v1", () -> auth.authenticated(caller ->
            concat(callerRoutes.routes(caller), sessionRoutes.routes(caller), runnerRoutes.routes(caller), auditRoutes.routes(caller),
                activityRoutes.routes(caller), usageRoutes.routes(caller), webhookRoutes.routes(caller),
                grantRoutes.routes(caller),
                orgRoutes.routes(caller)))));
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

  /** Serves HTTPS when {@code offload.http.tls.keystore} is set (docs/tls.md), plain HTTP otherwise. */
  public static CompletionStage<InetSocketAddress> start(ActorSystem<?> system, Route routes, Config http) {
    ServerBuilder server = Http.get(system).newServerAt(http.getString("interface"), http.getInt("port"));
    if (tls(http)) {
      server = server.enableHttps(ConnectionContext.httpsServer(sslContext(
          Path.of(http.getString("tls.keystore")), http.getString("tls.password").toCharArray())));
    }
    return server.bind(routes)
        .thenApply(binding -> {
          binding.addToCoordinatedShutdown(Duration.ofSeconds(10), system);
          return binding.localAddress();
        });
  }

  public static boolean tls(Config http) {
    return !http.getString("tls.keystore").isEmpty();
  }

  private static SSLContext sslContext(Path keystore, char[] password) {
    try (InputStream in = Files.newInputStream(keystore)) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(in, password);
      KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      managers.init(keys, password);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(managers.getKeyManagers(), null, null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot use the TLS keystore " + keystore
          + " (offload.http.tls.keystore, a PKCS12 file, with offload.http.tls.password): " + e.getMessage(), e);
    }
  }
}
