package dev.offload.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With {@code offload.db.url} set, the server neither starts nor stops a PostgreSQL of its own. */
class ExternalDatabaseTest {

  @TempDir Path dataDir;

  @Test
  void usesTheGivenUrlAndLeavesTheDatabaseRunning() throws Exception {
    Database shared = TestDatabase.get();
    Config external =
        ConfigFactory.parseMap(
                Map.of(
                    "offload.data-dir", dataDir.toString(),
                    "offload.db.url", shared.jdbcUrl(),
                    "offload.db.user", "postgres"))
            .withFallback(ConfigFactory.defaultReference());

    try (Database db = Database.start(external)) {
      assertFalse(db.embedded());
      assertEquals(shared.jdbcUrl(), db.jdbcUrl());
      assertEquals(1, selectOne(db));
    }

    assertFalse(Files.exists(dataDir.resolve("pg")));
    assertEquals(1, selectOne(shared));
    assertTrue(shared.embedded());
  }

  private static int selectOne(Database db) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT 1")) {
      assertTrue(rs.next());
      return rs.getInt(1);
    }
  }
}
