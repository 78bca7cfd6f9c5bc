package dev.offload.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseTest {

  @TempDir Path dataDir;

  @Test
  void isDurable() throws SQLException {
    Database db = TestDatabase.get();

    assertEquals("on", query(db, "SHOW fsync"));
    assertEquals("on", query(db, "SHOW synchronous_commit"));
  }

  @Test
  void keepsDataAcrossRestartsOnItsFixedPort() throws Exception {
    int port = freePort();
    Config config =
        TestDatabase.config(dataDir)
            .withValue("offload.db.embedded.port", ConfigValueFactory.fromAnyRef(port));
    try (Database first = Database.start(config)) {
      assertTrue(first.embedded());
      execute(first, "CREATE TABLE kept (name TEXT)", "INSERT INTO kept VALUES ('before restart')");
    }

    try (Database second = Database.start(config)) {
      assertEquals("before restart", query(second, "SELECT name FROM kept"));
      assertTrue(second.jdbcUrl().contains(":" + port + "/"), second.jdbcUrl());
      assertTrue(Files.exists(dataDir.resolve("pg").resolve("PG_VERSION")));
    }
  }

  @Test
  void startsDespiteAPidFileNamingAnotherLiveProgram() throws Exception {
    Config config = TestDatabase.config(dataDir);
    try (Database first = Database.start(config)) {
      execute(first, "CREATE TABLE kept (name TEXT)", "INSERT INTO kept VALUES ('before crash')");
    }
    // After a machine crash the pid may belong to any process, such as this JVM.
    Path pidFile = dataDir.resolve("pg").resolve("postmaster.pid");
    Files.write(
        pidFile,
        List.of(Long.toString(ProcessHandle.current().pid()), dataDir.resolve("pg").toString()));

    try (Database second = Database.start(config)) {
      assertEquals("before crash", query(second, "SELECT name FROM kept"));
    }
  }

  @Test
  void startsAfterTheServerWasKilledLeavingPostgresRunning() throws Exception {
    Process server = startServerProcess();
    ProcessHandle orphan;
    try {
      server.destroyForcibly();
      assertTrue(server.waitFor(30, TimeUnit.SECONDS));
      orphan = TestDatabase.postmaster(dataDir.resolve("pg")).orElseThrow();
      assertTrue(orphan.isAlive(), "PostgreSQL outlives the killed server");
    } finally {
      server.destroyForcibly();
    }

    try (Database restarted = Database.start(TestDatabase.config(dataDir))) {
      assertFalse(orphan.isAlive());
      assertEquals("written before SIGKILL", query(restarted, "SELECT name FROM survivor"));
      assertEquals("on", query(restarted, "SHOW fsync"));
    } finally {
      orphan.destroy();
      orphan.onExit().get(30, TimeUnit.SECONDS);
    }
  }

  private Process startServerProcess() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process server =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                EmbeddedDatabaseProcess.class.getName(),
                dataDir.toString())
            .redirectErrorStream(true)
            .start();
    StringBuilder output = new StringBuilder();
    CompletableFuture<Boolean> ready =
        CompletableFuture.supplyAsync(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                  if (line.equals(EmbeddedDatabaseProcess.READY)) {
                    return true;
                  }
                  output.append(line).append('\n');
                }
                return false;
              } catch (IOException e) {
                return false;
              }
            });
    try {
      assertTrue(ready.get(120, TimeUnit.SECONDS), () -> "server process failed:\n" + output);
    } catch (Exception e) {
      server.destroyForcibly();
      throw e;
    }
    return server;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void execute(Database db, String... statements) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  private static String query(Database db, String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }
}
