package dev.offload.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.org.Bootstrap;
import dev.offload.storage.Database;
import java.util.concurrent.CountDownLatch;

/**
 * {@code bin/offload-server [migrate | audit …]}: runs a control-plane node, only the migrations,
 * or the billing audit against a database.
 */
public final class Main {
  private static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  private Main() {}

  /**
   * Akka's Java API hands out Scala futures as CompletionStages that run every callback "async"
   * on the JDK's common pool. With one or two cores that pool has a parallelism of 1, and the JDK
   * then starts a new thread for each callback instead (thousands a minute under load). Two
   * threads keep it a pool; this must happen before the pool is first used.
   */
  private static void keepTheCommonPoolAPool() {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null && Runtime.getRuntime().availableProcessors() <= 2) {
      System.setProperty(COMMON_POOL_PARALLELISM, "2");
    }
  }

  public static void main(String[] args) throws Exception {
    keepTheCommonPoolAPool();
    Config config = ConfigFactory.load();
    if (args.length == 1 && args[0].equals("migrate")) {
      Database.migrate(config);
      System.out.println("Database schema is up to date.");
      return;
    }
    if (args.length == 1 && args[0].equals("postgres")) {
      servePostgres(config);
      return;
    }
    if (args.length > 0 && args[0].equals("audit")) {
      System.exit(AuditCommand.run(java.util.List.of(args).subList(1, args.length), config));
    }
    if (args.length > 0) {
      System.err.println("usage: offload-server [migrate]");
      System.err.println("       offload-server postgres");
      System.err.println("       " + AuditCommand.USAGE.substring("usage: ".length()));
      System.exit(2);
    }
    OffloadServer server = OffloadServer.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "offload-shutdown"));
    printWelcome(server);
  }

  /**
   * Only the embedded PostgreSQL (under {@code <data-dir>/pg}, on {@code offload.db.embedded.port}),
   * migrated, until SIGTERM: one database for several nodes on one machine (deploy/local).
   */
  private static void servePostgres(Config config) throws InterruptedException {
    if (!config.getString("offload.db.url").isEmpty()) {
      System.err.println("offload-server postgres runs the embedded PostgreSQL; unset OFFLOAD_DB_URL");
      System.exit(2);
    }
    // One connection of its own is enough to migrate; the connections are the nodes'.
    Database database = Database.start(ConfigFactory.parseString("offload.db.pool-size = 1").withFallback(config));
    Runtime.getRuntime().addShutdownHook(new Thread(database::close, "postgres-stop"));
    System.out.println("PostgreSQL is ready for the nodes: " + database.jdbcUrl()
        + " (user " + database.user() + ")");
    System.out.flush();
    new CountDownLatch(1).await();
  }

  private static void printWelcome(OffloadServer server) {
    Bootstrap.Result boot = server.bootstrap();
    StringBuilder out = new StringBuilder();
    out.append("\nOffload control plane ").append(Version.current())
        .append(" is listening on ").append(server.url()).append('\n');
    if (boot.operatorToken() != null) {
      out.append("Operator token (shown once, also in ").append(boot.operatorTokenFile())
          .append("):\n  ").append(boot.operatorToken()).append('\n');
    } else if (boot.operatorTokenFile() != null) {
      out.append("Operator token: in ").append(boot.operatorTokenFile()).append('\n');
    } else {
      out.append("Operator token: the one configured (OFFLOAD_OPERATOR_TOKEN or offload.auth.operator-token)\n");
    }
    if (boot.devToken() != null) {
      out.append("Log in as the owner 'dev' of organisation 'default':\n")
          .append("  offload login --server ").append(server.url()).append(" --token ").append(boot.devToken()).append('\n')
          .append("or call the API directly:\n")
          .append("  curl -H 'Authorization: Bearer ").append(boot.devToken()).append("' ")
          .append(server.url()).append("/v1/sessions\n");
    }
    System.out.println(out);
  }
}
