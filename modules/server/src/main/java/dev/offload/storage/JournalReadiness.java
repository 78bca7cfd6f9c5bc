package dev.offload.storage;

import akka.actor.ActorSystem;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.PersistenceQuery;
import akka.stream.javadsl.Sink;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Whether the journal answers a query through its own connection pool: a node whose product
 * tables answer but whose journal does not could accept requests it cannot persist. Used by
 * {@code /health/ready} on the API port and, by name in {@code akka.management.health-checks}, on
 * the management port.
 */
public final class JournalReadiness implements Supplier<CompletionStage<Boolean>> {

  /** Below the management's default check timeout, so a slow journal reads as "not ready". */
  private static final Duration TIMEOUT = Duration.ofMillis(900);
  /** No entity has this id; the query only proves a round trip. */
  private static final String PROBE = "offload-readiness-probe";

  private final ActorSystem system;

  /** Akka Management creates checks with the classic system. */
  public JournalReadiness(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    JdbcReadJournal journal =
        PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    return journal.currentEventsByPersistenceId(PROBE, 0L, 1L)
        .runWith(Sink.ignore(), system)
        .toCompletableFuture()
        .thenApply(done -> true)
        .completeOnTimeout(false, TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(failure -> false);
  }
}
