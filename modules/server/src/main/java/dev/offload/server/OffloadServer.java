package dev.offload.server;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import akka.management.javadsl.AkkaManagement;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiServices;
import dev.offload.api.HttpServer;
import dev.offload.billing.Audit;
import dev.offload.billing.BillingEntity;
import dev.offload.billing.Usage;
import dev.offload.billing.UsageEnforcer;
import dev.offload.billing.UsageView;
import dev.offload.billing.Ledger;
import dev.offload.billing.Rates;
import dev.offload.org.Bootstrap;
import dev.offload.org.Organisations;
import dev.offload.org.TokenCache;
import dev.offload.runner.RunnerFleet;
import dev.offload.runner.RunnerPool;
import dev.offload.session.SessionDiagnosis;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionIndex;
import dev.offload.session.SessionEventFeed;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.storage.Database;
import dev.offload.tunnel.TunnelRoutes;
import dev.offload.webhook.WebhookDispatcher;
import dev.offload.webhook.WebhookOutbox;
import dev.offload.webhook.Webhooks;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One control-plane node: the database, the actor system with its shard regions and the runner
 * pool, the local runners, and the HTTP API. Started by {@link Main} and by tests.
 */
public final class OffloadServer implements AutoCloseable {

  private final Database database;
  private final RunnerFleet fleet;
  private final ActorSystem<Void> system;
  private final InetSocketAddress address;
  private final String scheme;
  private final Bootstrap.Result bootstrap;

  private OffloadServer(Database database, RunnerFleet fleet,
      ActorSystem<Void> system, InetSocketAddress address, String scheme, Bootstrap.Result bootstrap) {
    this.database = database;
    this.fleet = fleet;
    this.system = system;
    this.address = address;
    this.scheme = scheme;
    this.bootstrap = bootstrap;
  }

  /** {@code config} is the application's configuration with the reference defaults. */
  public static OffloadServer start(Config config) throws Exception {
    Path dataDir = Path.of(config.getString("offload.data-dir")).toAbsolutePath();
    Files.createDirectories(dataDir);
    Database database = Database.start(config);
    RunnerFleet fleet = null;
    ActorSystem<Void> system = null;
    try {
      Config full = ConfigFactory.parseMap(Map.of("akka.cluster.app-version", appVersion(config)))
          .withFallback(database.akkaPersistenceConfig())
          .withFallback(config)
          .resolve();
      system = ActorSystem.create(Behaviors.empty(), "offload", full);
      joinCluster(system, full);
      Executor blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("offload.blocking-dispatcher"));
      Clock clock = Clock.systemUTC();

      fleet = RunnerFleet.start(system, full, dataDir);
      List<String> runnerClasses = full.getConfig("offload.runners.classes").root().keySet().stream().sorted().toList();

      SessionIndex index = new SessionIndex(database.dataSource());
      ActorRef<RunnerPool.Command> pool =
          RunnerPool.init(system, fleet, new ShardedSessions(system, index, blocking), clock);
      SessionEntity.Timings timings = SessionEntity.Timings.fromConfig(full);
      SessionEntity.init(system, clock, timings, pool, runnerCheck(fleet, pool, system));
      WebhookOutbox outbox = new WebhookOutbox(database.dataSource(), clock);
      index.startProjection(system, List.of(new Ledger(Rates.fromConfig(full), clock), outbox));
      WebhookDispatcher.init(system, database.dataSource(), blocking, clock, WebhookDispatcher.Settings.fromConfig(full));
      Webhooks webhooks = new Webhooks(database.dataSource(), blocking, clock,
          database.embedded() || full.getBoolean("offload.webhooks.allow-loopback-http"));

      TokenCache tokens = new TokenCache(full.getDuration("offload.auth.token-cache-ttl"));
      tokens.shareRevocations(system);
      Organisations organisations = new Organisations(database.dataSource(), blocking, clock, runnerClasses, tokens);
      Bootstrap.Result bootstrap = Bootstrap.run(organisations, full, dataDir,
          database.embedded() && full.getBoolean("offload.auth.dev-defaults"));
      Rates rates = Rates.fromConfig(full);
      BillingEntity.init(system, clock);
      Usage usage = new Usage(system, database.dataSource(), blocking, organisations, rates, clock,
          full.getDuration("offload.ask-timeout"));
      Sessions sessions = new Sessions(system, database.dataSource(), blocking, organisations, index,
          java.util.Set.copyOf(runnerClasses), full.getDuration("offload.ask-timeout"), clock, usage,
          timings.provisioningTimeout());
      UsageEnforcer.init(system, usage, sessions, clock, full.getDuration("offload.billing.enforce-interval"),
          outbox::usageWarning);
      SessionUpdates updates = new SessionUpdates(
          new SessionEventFeed(system, database.dataSource(), blocking), clock, full.getDuration("offload.session.preservation-window"));

      Audit audit = new Audit(database.dataSource(),
          akka.serialization.SerializationExtension.get(system.classicSystem()), rates);
      RunnerFleet runners = fleet;
      ActorSystem<Void> node = system;
      TunnelRoutes tunnels = new TunnelRoutes(system, sessions, fleet.ssh(),
          runnerId -> runners.find(runnerId, pool, node), blocking);
      SessionDiagnosis diagnosis = new SessionDiagnosis(sessions, runnerId -> runners.diagnose(runnerId, pool, node),
          database.dataSource(), blocking, clock);
      UsageView usageView = new UsageView(usage, database.dataSource(), blocking, rates, clock);
      var services = new ApiServices(organisations, sessions, updates, diagnosis, audit, usageView, webhooks, tunnels, pool,
          database.dataSource(), blocking);
      var routes = HttpServer.routes(system, services, full.getBytes("offload.http.max-body"), Version.current());
      InetSocketAddress address = HttpServer.start(system, routes, full.getConfig("offload.http"))
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      String scheme = HttpServer.tls(full.getConfig("offload.http")) ? "https" : "http";
      return new OffloadServer(database, fleet, system, address, scheme, bootstrap);
    } catch (Exception | Error e) {
      closeQuietly(system, fleet, database);
      throw e;
    }
  }

  /**
   * Alone, the node joins itself. In a cluster it serves Akka Management (bootstrap's contact
   * point and the probes) and bootstrap finds the other nodes through discovery and joins them,
   * or forms the cluster when it is the lowest-addressed of the required contact points.
   */
  private static void joinCluster(ActorSystem<Void> system, Config config) {
    if (config.getBoolean("offload.cluster.join-self")) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      return;
    }
    AkkaManagement.get(system.classicSystem()).start();
    ClusterBootstrap.get(system.classicSystem()).start();
  }

  /**
   * {@code offload.cluster.app-version}, else the product version; a development build without a
   * manifest counts as 0.0.0, Akka's own default.
   */
  private static String appVersion(Config config) {
    String configured = config.getString("offload.cluster.app-version");
    if (!configured.isEmpty()) {
      return configured;
    }
    String version = Version.current();
    return Character.isDigit(version.charAt(0)) ? version : "0.0.0";
  }

  /** Sessions verify their runner by id on the node that hosts them. */
  private static SessionEntity.RunnerCheck runnerCheck(
      RunnerFleet fleet, ActorRef<RunnerPool.Command> pool, ActorSystem<?> system) {
    return runnerId -> fleet.verify(runnerId, pool, system);
  }

  public InetSocketAddress address() {
    return address;
  }

  public String url() {
    return scheme + "://" + address.getHostString() + ":" + address.getPort();
  }

  public Bootstrap.Result bootstrap() {
    return bootstrap;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public Database database() {
    return database;
  }

  /** Leaves the cluster, stops the API and the runners, then the database. */
  @Override
  public void close() {
    closeQuietly(system, fleet, database);
  }

  /** The runner fleet on this node, e.g. for {@code diagnose}. */
  public RunnerFleet fleet() {
    return fleet;
  }

  private static void closeQuietly(ActorSystem<Void> system, RunnerFleet fleet, Database database) {
    if (system != null) {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // carry on: the resources below must still be released
      }
    }
    for (AutoCloseable resource : new AutoCloseable[] {fleet, database}) {
      if (resource == null) continue;
      try {
        resource.close();
      } catch (Exception e) {
        // carry on with the next one
      }
    }
  }
}
