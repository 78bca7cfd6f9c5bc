package dev.offload.org;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/**
 * Plain JDBC off the caller's thread. A stage fails with exactly what the work threw (a {@link
 * dev.offload.ClientError} or an {@link SQLException}), not wrapped, so callers can tell them
 * apart.
 */
final class Jdbc {

  interface Work<T> {
    T on(Connection c) throws SQLException;
  }

  private final DataSource ds;
  private final Executor blocking;

  Jdbc(DataSource ds, Executor blocking) {
    this.ds = ds;
    this.blocking = blocking;
  }

  <T> CompletionStage<T> query(Work<T> work) {
    return run(work, false);
  }

  /** All of {@code work} or none of it. */
  <T> CompletionStage<T> inTransaction(Work<T> work) {
    return run(work, true);
  }

  static OffsetDateTime timestamp(Instant instant) {
    return instant.atOffset(ZoneOffset.UTC);
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, OffsetDateTime.class).toInstant();
  }

  private <T> CompletionStage<T> run(Work<T> work, boolean transactional) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      blocking.execute(
          () -> {
            try (Connection c = ds.getConnection()) {
              result.complete(transactional ? committed(c, work) : work.on(c));
            } catch (Throwable e) {
              result.completeExceptionally(e);
            }
          });
    } catch (RuntimeException rejected) {
      result.completeExceptionally(rejected);
    }
    return result;
  }

  private static <T> T committed(Connection c, Work<T> work) throws SQLException {
    c.setAutoCommit(false);
    try {
      T value = work.on(c);
      c.commit();
      return value;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    }
  }
}
