package dev.offload.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.api.ApiClient;
import dev.offload.storage.Database;
import dev.offload.storage.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A whole control-plane node in the test JVM, on a database of its own inside the shared
 * embedded PostgreSQL (so sessions remembered by one test never wake up in another), with a
 * fixed operator token, local runners and a free HTTP port.
 */
public final class TestServer implements AutoCloseable {
  public static final String OPERATOR_TOKEN = "operator-token-for-tests";
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final OffloadServer server;
  private final ApiClient client;
  private final String jdbcUrl;

  private final String user;
  private final String password;

  private TestServer(OffloadServer server, String jdbcUrl, String user, String password) {
    this.server = server;
    this.client = new ApiClient(server.url());
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
  }

  /** {@code overrides} is HOCON layered over the test defaults, e.g. runner counts or timings. */
  public static TestServer start(String overrides) throws Exception {
    return start(overrides, newDatabase());
  }

  /** A new, empty database in the shared embedded PostgreSQL; its JDBC URL. */
  public static String newDatabase() throws SQLException {
    Database shared = TestDatabase.get();
    String name = "offload_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
    try (Connection c = shared.dataSource().getConnection(); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
    return shared.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + name + "$1");
  }

  /** A node on the database at {@code url}: several nodes on one database form a cluster. */
  public static TestServer start(String overrides, String url) throws Exception {
    Database shared = TestDatabase.get();
    return startOn(url, shared.user(), shared.password(), overrides);
  }

  /** A server on a PostgreSQL of the test's own, e.g. one it stops and starts again. */
  public static TestServer startOn(String url, String user, String password, String overrides) throws Exception {
    Path dataDir = Files.createTempDirectory("offload-server-test");
    Config config = ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseString(String.join("\n",
            "offload.data-dir = \"" + dataDir + "\"",
            "offload.db.url = \"" + url + "\"",
            "offload.db.user = \"" + user + "\"",
            "offload.db.password = \"" + password + "\"",
            "offload.db.pool-size = 8",
            "offload.db.journal-pool-size = 8",
            "offload.http.port = 0",
            "offload.auth.operator-token = \"" + OPERATOR_TOKEN + "\"",
            "offload.runners.local.engine-target = \"tcp://127.0.0.1:9\"",
            // No Docker engine on test machines: health checks and wipes succeed as if one answered.
            "offload.runners.health-command = \"true\"",
            "offload.runners.wipe-command = \"true\"",
            "akka.remote.artery.canonical.port = 0",
            "akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off",
            "akka.cluster.jmx.multi-mbeans-in-same-jvm = on")))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
    return new TestServer(OffloadServer.start(config), url, user, password);
  }

  public ApiClient api() {
    return client;
  }

  public OffloadServer server() {
    return server;
  }

  /** A connection to this server's own database, for checking what was (not) written. */
  public Connection connect() throws SQLException {
    return java.sql.DriverManager.getConnection(jdbcUrl, user, password);
  }

  public long count(String sql) {
    try (Connection c = connect(); Statement st = c.createStatement(); var rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.close();
  }

}
