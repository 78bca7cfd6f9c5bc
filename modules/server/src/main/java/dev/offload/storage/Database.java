package dev.offload.storage;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL the server keeps everything in: an external one from {@code offload.db.url}, or
 * else an embedded one under {@code <data-dir>/pg}. Starting it applies the migrations, so every
 * table exists before the journal or any repository touches it.
 */
public final class Database implements AutoCloseable {
  /** The journal of everything but sessions, and of half of the sessions. */
  public static final String JOURNAL = "jdbc-journal";

  /**
   * A second instance of the same journal, over the same table and connections, for the other
   * half of the sessions: akka-persistence-jdbc writes tagged events row by row with about one
   * batch in flight per journal, so two journals write about twice as many tagged events.
   */
  public static final String SECOND_JOURNAL = "jdbc-journal-2";


  private static final Logger log = LoggerFactory.getLogger(Database.class);

  private final Target target;
  private final Config settings;
  private final HikariDataSource pool;

  private Database(Target target, Config settings, HikariDataSource pool) {
    this.target = target;
    this.settings = settings;
    this.pool = pool;
  }

  /**
   * Starts (or connects to) the database, migrates it and opens the pool for the product's tables.
   */
  public static Database start(Config config) {
    Config settings = config.getConfig("offload.db");
    Target target = Target.resolve(config);
    try {
      Migrations.flyway(target.url, target.user, target.password).migrate();
      return new Database(target, settings, openPool(target, settings));
    } catch (RuntimeException e) {
      target.stop();
      throw e;
    }
  }

  /** Applies pending migrations and stops again: {@code offload-server migrate}. */
  public static void migrate(Config config) {
    Target target = Target.resolve(config);
    try {
      Migrations.flyway(target.url, target.user, target.password).migrate();
    } finally {
      target.stop();
    }
  }

  public String jdbcUrl() {
    return target.url;
  }

  public String user() {
    return target.user;
  }

  public String password() {
    return target.password;
  }

  public DataSource dataSource() {
    return pool;
  }

  public boolean embedded() {
    return target.embedded != null;
  }

  /**
   * Points akka-persistence-jdbc and akka-projection-jdbc at this database; the caller layers it
   * over the application config. Journal, snapshots and read journal share one Slick pool, since
   * each plugin would otherwise open its own 20 connections.
   */
  public Config akkaPersistenceConfig() {
    int journalPool = settings.getInt("journal-pool-size");
    String shared = "akka-persistence-jdbc.shared-databases.slick.";
    Map<String, Object> akka = new HashMap<>();
    akka.put("akka.persistence.journal.plugin", JOURNAL);
    akka.put("akka.persistence.snapshot-store.plugin", "jdbc-snapshot-store");
    akka.put(shared + "profile", "slick.jdbc.PostgresProfile$");
    // Lets the driver turn the journal's batches into multi-row inserts.
    akka.put(shared + "db.url", withParameter(target.url, "reWriteBatchedInserts=true"));
    if (!target.user.isEmpty()) {
      akka.put(shared + "db.user", target.user);
    }
    if (!target.password.isEmpty()) {
      akka.put(shared + "db.password", target.password);
    }
    akka.put(shared + "db.driver", "org.postgresql.Driver");
    // Slick requires as many threads as connections.
    akka.put(shared + "db.numThreads", journalPool);
    akka.put(shared + "db.maxConnections", journalPool);
    akka.put(shared + "db.minConnections", journalPool);
    akka.put(
        shared + "db.connectionTimeout", settings.getDuration("connection-timeout").toMillis());
    for (String plugin :
        new String[] {JOURNAL, SECOND_JOURNAL, "jdbc-snapshot-store", "jdbc-read-journal"}) {
      akka.put(plugin + ".use-shared-db", "slick");
    }
    for (String journal : new String[] {JOURNAL, SECOND_JOURNAL}) {
      akka.put(journal + ".bufferSize", settings.getInt("journal-buffer-size"));
    }
    long poll = settings.getDuration("read-journal-poll").toMillis();
    akka.put("jdbc-read-journal.refresh-interval", poll + "ms");
    // A gap in the ordering (a transaction still committing) is waited on for max-tries polls.
    akka.put("jdbc-read-journal.journal-sequence-retrieval.query-delay", poll + "ms");
    akka.put("akka.projection.jdbc.dialect", "postgres-dialect");
    akka.put(
        "akka.projection.jdbc.blocking-jdbc-dispatcher.thread-pool-executor.fixed-pool-size",
        settings.getInt("projection-pool-size"));
    return ConfigFactory.parseMap(akka, "offload database");
  }

  /** Closes the pool, then stops the embedded PostgreSQL if this server started it. */
  @Override
  public void close() {
    pool.close();
    target.stop();
  }

  private static HikariDataSource openPool(Target target, Config settings) {
    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName("offload-db");
    hikari.setJdbcUrl(target.url);
    hikari.setUsername(target.user.isEmpty() ? null : target.user);
    hikari.setPassword(target.password.isEmpty() ? null : target.password);
    hikari.setMaximumPoolSize(settings.getInt("pool-size"));
    hikari.setConnectionTimeout(settings.getDuration("connection-timeout").toMillis());
    return new HikariDataSource(hikari);
  }

  private static String withParameter(String url, String parameter) {
    String name = parameter.substring(0, parameter.indexOf('=') + 1);
    if (url.contains("?" + name) || url.contains("&" + name)) {
      return url;
    }
    return url + (url.contains("?") ? "&" : "?") + parameter;
  }

  /** Where the database is, and the embedded PostgreSQL behind it when there is no external URL. */
  private static final class Target {
    final String url;
    final String user;
    final String password;
    final EmbeddedPostgres embedded;

    private Target(String url, String user, String password, EmbeddedPostgres embedded) {
      this.url = url;
      this.user = user;
      this.password = password;
      this.embedded = embedded;
    }

    static Target resolve(Config config) {
      Config db = config.getConfig("offload.db");
      if (!db.getString("url").isEmpty()) {
        return new Target(
            db.getString("url"), db.getString("user"), db.getString("password"), null);
      }
      Path dataDir = Path.of(config.getString("offload.data-dir")).resolve("pg");
      EmbeddedPostgres embedded =
          EmbeddedServer.start(
              dataDir, db.getInt("embedded.port"), db.getDuration("embedded.startup-timeout"));
      log.info(
          "Embedded PostgreSQL on port {}, data in {}",
          embedded.getPort(),
          dataDir.toAbsolutePath());
      return new Target(
          "jdbc:postgresql://localhost:" + embedded.getPort() + "/postgres",
          "postgres",
          "",
          embedded);
    }

    void stop() {
      if (embedded == null) {
        return;
      }
      try {
        embedded.close();
      } catch (IOException e) {
        throw new UncheckedIOException("could not stop the embedded PostgreSQL", e);
      }
    }
  }
}
