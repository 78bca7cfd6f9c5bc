package dev.offload.server;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.Config;
import dev.offload.api.HttpServer;
import dev.offload.org.Bootstrap;
import dev.offload.org.Organisations;
import dev.offload.runner.LocalRunners;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.RunnerPool;
import dev.offload.runner.SshConnections;
import dev.offload.session.SessionEntity;
import dev.offload.session.SessionIndex;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.storage.Database;
import dev.offload.tunnel.TunnelRoutes;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One control-plane node: the database, the actor system with its shard regions and the runner
 * pool, the local runners, and the HTTP API. Started by {@link Main} and by tests.
 */
public final class OffloadServer implements AutoCloseable {

  private final Database database;
  private final LocalRunners runners;
  private final SshConnections ssh;
  private final ActorSystem<Void> system;
  private final InetSocketAddress address;
  private final String scheme;
  private final Bootstrap.Result bootstrap;

  private OffloadServer(Database database, LocalRunners runners, SshConnections ssh,
      ActorSystem<Void> system, InetSocketAddress address, String scheme, Bootstrap.Result bootstrap) {
    this.database = database;
    this.runners = runners;
    this.ssh = ssh;
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
    LocalRunners runners = null;
    SshConnections ssh = null;
    ActorSystem<Void> system = null;
    try {
      Config full = database.akkaPersistenceConfig().withFallback(config).resolve();
      system = ActorSystem.create(Behaviors.empty(), "offload", full);
      if (full.getBoolean("offload.cluster.join-self")) {
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      Executor blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("offload.blocking-dispatcher"));
      Clock clock = Clock.systemUTC();

      runners = LocalRunners.start(full, dataDir);
      ssh = SshConnections.create(system, dataDir);
      List<String> runnerClasses = List.copyOf(full.getConfig("offload.runners.classes").root().keySet());

      ActorRef<RunnerPool.Command> pool = RunnerPool.init(system, runners, clock);
      SessionEntity.init(system, clock, SessionEntity.Timings.fromConfig(full), pool, runnerCheck(runners, ssh));
      SessionIndex index = new SessionIndex(database.dataSource());
      index.startProjection(system);

      Organisations organisations = new Organisations(database.dataSource(), blocking, clock, runnerClasses);
      Bootstrap.Result bootstrap = Bootstrap.run(organisations, full, dataDir,
          database.embedded() && full.getBoolean("offload.auth.dev-defaults"));
      Sessions sessions = new Sessions(system, database.dataSource(), blocking, organisations, index,
          java.util.Set.copyOf(runnerClasses), full.getDuration("offload.ask-timeout"), clock);
      SessionUpdates updates = new SessionUpdates(system, clock, full.getDuration("offload.session.preservation-window"));

      Map<String, RunnerInfo> runnersById = byId(runners);
      TunnelRoutes tunnels = new TunnelRoutes(system, sessions, ssh,
          id -> Optional.ofNullable(runnersById.get(id)), blocking);
      var routes = HttpServer.routes(system, organisations, sessions, updates, tunnels, database.dataSource(), blocking,
          full.getBytes("offload.http.max-body"), Version.current());
      InetSocketAddress address = HttpServer.start(system, routes, full.getConfig("offload.http"))
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      String scheme = HttpServer.tls(full.getConfig("offload.http")) ? "https" : "http";
      return new OffloadServer(database, runners, ssh, system, address, scheme, bootstrap);
    } catch (Exception | Error e) {
      closeQuietly(system, ssh, runners, database);
      throw e;
    }
  }

  /** Sessions verify their runner by id on the node that hosts them. */
  private static SessionEntity.RunnerCheck runnerCheck(LocalRunners runners, SshConnections ssh) {
    Map<String, RunnerInfo> byId = byId(runners);
    return runnerId -> {
      RunnerInfo runner = byId.get(runnerId);
      if (runner == null) {
        return CompletableFuture.failedFuture(
            new IllegalStateException("runner " + runnerId + " is not known to this control plane"));
      }
      return ssh.verify(runner);
    };
  }

  private static Map<String, RunnerInfo> byId(LocalRunners runners) {
    return runners.runners().stream().collect(Collectors.toMap(RunnerInfo::id, Function.identity()));
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
    closeQuietly(system, ssh, runners, database);
  }

  private static void closeQuietly(ActorSystem<Void> system, SshConnections ssh, LocalRunners runners, Database database) {
    if (system != null) {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // carry on: the resources below must still be released
      }
    }
    for (AutoCloseable resource : new AutoCloseable[] {ssh, runners, database}) {
      if (resource == null) continue;
      try {
        resource.close();
      } catch (Exception e) {
        // carry on with the next one
      }
    }
  }
}
