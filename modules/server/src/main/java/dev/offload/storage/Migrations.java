package dev.offload.storage;

import java.util.Map;
import org.flywaydb.core.Flyway;

/** The versioned schema in {@code conf/db/migration}, applied by Flyway. */
final class Migrations {

  static final String LOCATION = "classpath:db/migration";

  private Migrations() {}

  static Flyway flyway(String url, String user, String password) {
    return Flyway.configure()
        .dataSource(url, user, password)
        .locations(LOCATION)
        // With Flyway's lock held in a transaction, CREATE INDEX CONCURRENTLY in V1 waits for that
        // idle transaction forever.
        .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
        .load();
  }
}
