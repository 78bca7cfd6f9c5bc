package dev.offload.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  @Test
  void createsTheJournalProjectionAndProductTables() throws SQLException {
    List<String> tables = column("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");

    assertTrue(
        tables.containsAll(
            List.of(
                "event_journal",
                "event_tag",
                "snapshot",
                "durable_state",
                "akka_projection_offset_store",
                "akka_projection_management",
                "organisations",
                "users",
                "tokens")),
        tables::toString);
  }

  @Test
  void appliesEveryMigrationSuccessfully() throws SQLException {
    List<String> applied =
        column("SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank");

    assertEquals(List.of("1", "2", "3"), applied.subList(0, 3));
    assertEquals(List.of(), column("SELECT version FROM flyway_schema_history WHERE NOT success"));
  }

  @Test
  void indexesTagsForEventsByTag() throws SQLException {
    List<String> indexes = column("SELECT indexdef FROM pg_indexes WHERE tablename = 'event_tag'");

    assertTrue(indexes.stream().anyMatch(i -> i.endsWith("(tag, event_id)")), indexes::toString);
  }

  @Test
  void keepsFlywayLockOutsideATransaction() {
    Database db = TestDatabase.get();

    PostgreSQLConfigurationExtension postgres =
        Migrations.flyway(db.jdbcUrl(), db.user(), db.password())
            .getConfiguration()
            .getPluginRegister()
            .getPlugin(PostgreSQLConfigurationExtension.class);

    assertFalse(postgres.isTransactionalLock());
  }

  @Test
  void migrateOnAnUpToDateExternalDatabaseChangesNothingAndLeavesItRunning() throws SQLException {
    Database db = TestDatabase.get();
    int before = column("SELECT version FROM flyway_schema_history").size();

    Database.migrate(
        ConfigFactory.parseString("offload.db { url = \"" + db.jdbcUrl() + "\", user = postgres }")
            .withFallback(ConfigFactory.defaultReference()));

    assertEquals(before, column("SELECT version FROM flyway_schema_history").size());
  }

  private static List<String> column(String sql) throws SQLException {
    try (Connection c = TestDatabase.get().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      List<String> values = new ArrayList<>();
      while (rs.next()) {
        values.add(rs.getString(1));
      }
      return values;
    }
  }
}
