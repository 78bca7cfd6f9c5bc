package dev.offload.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;

/**
 * A server process reduced to its database, for the test that kills it with SIGKILL: starts the
 * embedded PostgreSQL in the directory given as argument, writes one row, says "ready" and waits.
 */
public final class EmbeddedDatabaseProcess {

  static final String READY = "ready";

  public static void main(String[] args) throws Exception {
    Database db = Database.start(TestDatabase.config(Path.of(args[0])));
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE survivor (name TEXT)");
      s.execute("INSERT INTO survivor VALUES ('written before SIGKILL')");
    }
    System.out.println(READY);
    System.out.flush();
    System.in.read();
  }
}
