package dev.offload.session;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.EventEnvelope;
import akka.persistence.query.Offset;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.Sequence;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.QueueOfferResult;
import akka.stream.RestartSettings;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * One session's events, from its first and then as they are written, for the event streams of
 * this node. The node tails the session tags once and hands each stream its session's events, so
 * the journal sees a fixed number of queries however many streams are open (one poll per stream
 * and refresh interval before, which competed with the journal's writes under load).
 *
 * <p>A stream registers with the tail before it reads the session's past events, so nothing
 * written after that read is missed; an event the tail delivers twice or that the read already
 * had is dropped by its sequence number, and one the tail skipped (the read journal gives up on a
 * gap in the ordering after a while) is fetched from the journal when the next one shows the gap.
 */
public final class SessionEventFeed {

  /** Events a stream may have waiting before it is ended as too slow (a session writes a few a minute). */
  private static final int STREAM_BUFFER = 1024;
  /**
   * The tail starts this many orderings before the journal's highest when the first stream opens:
   * a transaction that took its ordering earlier but commits later is still delivered.
   */
  private static final long START_MARGIN = 10_000;

  private final JdbcReadJournal journal;
  private final Materializer materializer;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Map<String, Set<BoundedSourceQueue<EventEnvelope>>> streams = new ConcurrentHashMap<>();
  private CompletableFuture<Void> tailing;

  public SessionEventFeed(ActorSystem<?> system, DataSource dataSource, Executor blocking) {
    this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    this.materializer = Materializer.matFromSystem(system);
    this.dataSource = dataSource;
    this.blocking = blocking;
  }

  /**
   * The session's events in order, without gaps or repeats, until the stream is cancelled: first
   * everything written so far as one list (empty for a session not yet written), then the events
   * written after, as they come.
   */
  public Source<List<EventEnvelope>, NotUsed> eventsOf(String sessionId) {
    String persistenceId = SessionEntity.persistenceId(sessionId).id();
    return Source.completionStage(tailing().thenApply(started -> NotUsed.notUsed()))
        .flatMapConcat(started -> Source.fromMaterializer((mat, attributes) -> follow(persistenceId, mat)))
        .mapMaterializedValue(ignored -> NotUsed.notUsed());
  }

  /** Streams of this node following the session now. */
  int streamsFollowing(String sessionId) {
    return streams.getOrDefault(SessionEntity.persistenceId(sessionId).id(), Set.of()).size();
  }

  private Source<List<EventEnvelope>, NotUsed> follow(String persistenceId, Materializer mat) {
    Pair<BoundedSourceQueue<EventEnvelope>, Source<EventEnvelope, NotUsed>> live =
        Source.<EventEnvelope>queue(STREAM_BUFFER).preMaterialize(mat);
    BoundedSourceQueue<EventEnvelope> queue = live.first();
    streams.computeIfAbsent(persistenceId, id -> ConcurrentHashMap.newKeySet()).add(queue);
    AtomicLong seen = new AtomicLong();
    Source<List<EventEnvelope>, NotUsed> past = Source.completionStage(
            journal.currentEventsByPersistenceId(persistenceId, 0L, Long.MAX_VALUE).runWith(Sink.seq(), mat))
        .map(events -> {
          if (!events.isEmpty()) seen.set(events.get(events.size() - 1).sequenceNr());
          return events;
        });
    return past
        .concat(live.second().flatMapConcat(envelope -> newer(persistenceId, envelope, seen)))
        .watchTermination((notUsed, done) -> {
          done.whenComplete((ok, failure) -> streams.computeIfPresent(persistenceId, (id, queues) -> {
            queues.remove(queue);
            return queues.isEmpty() ? null : queues;
          }));
          return NotUsed.notUsed();
        });
  }

  /** The envelope if it is the next one, nothing if it was seen, the missing ones and it after a gap. */
  private Source<List<EventEnvelope>, NotUsed> newer(String persistenceId, EventEnvelope envelope, AtomicLong seen) {
    long last = seen.get();
    long sequenceNr = envelope.sequenceNr();
    if (sequenceNr <= last) return Source.empty();
    seen.set(sequenceNr);
    if (sequenceNr == last + 1) return Source.single(List.of(envelope));
    return Source.completionStage(
        journal.currentEventsByPersistenceId(persistenceId, last + 1, sequenceNr).runWith(Sink.seq(), materializer));
  }

  /** Starts the tail on the first stream; a failed start (database down) is tried again by the next. */
  private synchronized CompletionStage<Void> tailing() {
    if (tailing == null || tailing.isCompletedExceptionally()) {
      tailing = CompletableFuture.supplyAsync(this::highestOrdering, blocking).thenAccept(highest -> {
        Map<String, Long> offsets = new ConcurrentHashMap<>();
        RestartSettings restart = RestartSettings.create(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2);
        Source.from(SessionEntity.TAGS)
            .flatMapMerge(SessionEntity.TAGS.size(), tag -> RestartSource.withBackoff(restart, () ->
                journal.eventsByTag(tag, Offset.sequence(offsets.getOrDefault(tag, Math.max(0, highest - START_MARGIN))))
                    .map(envelope -> {
                      offsets.put(tag, ((Sequence) envelope.offset()).value());
                      return envelope;
                    })))
            .runForeach(this::dispatch, materializer);
      });
    }
    return tailing;
  }

  private void dispatch(EventEnvelope envelope) {
    Set<BoundedSourceQueue<EventEnvelope>> queues = streams.get(envelope.persistenceId());
    if (queues == null) return;
    for (BoundedSourceQueue<EventEnvelope> queue : queues) {
      if (queue.offer(envelope) == QueueOfferResult.dropped()) {
        queue.fail(new IllegalStateException(
            "the event stream fell " + STREAM_BUFFER + " events behind its session; reconnect to continue"));
      }
    }
  }

  private long highestOrdering() {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT coalesce(max(ordering), 0) FROM event_journal")) {
      rows.next();
      return rows.getLong(1);
    } catch (SQLException e) {
      throw new CompletionException(e);
    }
  }
}
