package dev.offload.billing;

import akka.serialization.Serialization;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The billing audit of billing.md: replays the journal (plain JDBC, no cluster needed), checks
 * every session's hash chain, recomputes the charges with {@link Billing} and compares them with
 * the ledger. Runs the same behind the API and offline against a copy of the database.
 */
public final class Audit {
  private static final Logger log = LoggerFactory.getLogger(Audit.class);
  private static final String SESSION_PREFIX = "Session|";
  private static final int PROGRESS_EVERY = 100_000;
  private static final int REPLAYERS = Math.max(2, Runtime.getRuntime().availableProcessors());

  public record Discrepancy(String session, long ledgerSeconds, long replayedSeconds, String reason) {}

  public record ChainBreak(String session, long sequenceNr, String reason) {}

  public record Report(
      String org, String month, Instant readUpTo, int sessions, long events,
      long ledgerSeconds, long replayedSeconds, long ledgerMicros, long replayedMicros,
      List<Discrepancy> discrepancies, List<ChainBreak> chainBreaks, String digest, boolean ok) {}

  private final DataSource dataSource;
  private final Serialization serialization;
  private final Rates rates;

  public Audit(DataSource dataSource, Serialization serialization, Rates rates) {
    this.dataSource = dataSource;
    this.serialization = serialization;
    this.rates = rates;
  }

  /** One session as the journal tells it. */
  private static final class Replay {
    final String id;
    SessionState state;
    long events;
    long lastSeqNr;
    Instant latest;
    final List<ChainBreak> breaks = new ArrayList<>();
    final MessageDigest digest = sha256();

    Replay(String id) {
      this.id = id;
      this.state = SessionState.empty(id);
    }
  }

  /** A journal row as read, before its event is deserialised. */
  private record StoredEvent(long sequenceNr, int serializerId, String manifest, byte[] payload) {}

  /** A ledger row of the audited month. */
  private record LedgerRow(long seconds, long micros, long lastSeqNr, String lastHash) {}

  /**
   * One thread reads the journal while others replay the sessions already read (each session's
   * events are consecutive in the journal and replayed in order by one thread); the results are
   * taken in journal order, so the report and its digest do not depend on the threads.
   */
  public Report run(String org, YearMonth month) throws SQLException {
    Map<String, LedgerRow> ledger = ledger(org, month);
    List<Future<Replay>> replays = new ArrayList<>();
    long rows = 0;
    ExecutorService replayers = replayers();
    try {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(false); // PostgreSQL streams rows only inside a transaction
        try (PreparedStatement st = c.prepareStatement(
            "SELECT persistence_id, sequence_number, event_ser_id, event_ser_manifest, event_payload"
                + " FROM event_journal WHERE persistence_id LIKE 'Session|%' AND NOT deleted"
                + " ORDER BY persistence_id, sequence_number")) {
          st.setFetchSize(1000);
          try (ResultSet rs = st.executeQuery()) {
            String current = null;
            List<StoredEvent> events = new ArrayList<>();
            while (rs.next()) {
              String persistenceId = rs.getString(1);
              if (!persistenceId.equals(current)) {
                if (current != null) replays.add(replay(replayers, current, events));
                current = persistenceId;
                events = new ArrayList<>();
              }
              events.add(new StoredEvent(rs.getLong(2), rs.getInt(3), rs.getString(4), rs.getBytes(5)));
              if (++rows % PROGRESS_EVERY == 0) log.info("Audit of {} {}: {} events read", org, month, rows);
            }
            if (current != null) replays.add(replay(replayers, current, events));
          }
        } finally {
          c.rollback();
        }
      }
      List<Replay> kept = new ArrayList<>();
      Instant readUpTo = null;
      for (Future<Replay> pending : replays) {
        Replay r = join(pending);
        if (r.latest != null && (readUpTo == null || r.latest.isAfter(readUpTo))) readUpTo = r.latest;
        // The sessions of the audited organisation: their first event names it.
        if (org.equals(r.state.org()) || ledger.containsKey(r.id)) kept.add(r);
      }
      return report(org, month, kept, ledger, readUpTo);
    } finally {
      replayers.shutdownNow();
    }
  }

  /** Replaying threads; when they are busy and their queue is full, the reading thread replays too. */
  private static ExecutorService replayers() {
    return new ThreadPoolExecutor(REPLAYERS, REPLAYERS, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(1024), new ThreadPoolExecutor.CallerRunsPolicy());
  }

  private Future<Replay> replay(ExecutorService replayers, String persistenceId, List<StoredEvent> events) {
    String id = persistenceId.substring(SESSION_PREFIX.length());
    return replayers.submit(() -> replay(id, events));
  }

  private Replay replay(String id, List<StoredEvent> events) {
    Replay r = new Replay(id);
    for (StoredEvent stored : events) {
      var read = serialization.deserialize(stored.payload(), stored.serializerId(), stored.manifest());
      if (read.isFailure() || !(read.get() instanceof SessionEvent event)) {
        r.breaks.add(new ChainBreak(id, stored.sequenceNr(), "the event cannot be read: its bytes were changed"));
        r.lastSeqNr = stored.sequenceNr();
      } else {
        replay(r, stored.sequenceNr(), event);
        // The fold just hashed the event for the chain: the digest reuses that hash.
        r.digest.update((stored.sequenceNr() + ":" + r.state.lastHash() + "\n").getBytes(StandardCharsets.UTF_8));
        if (r.latest == null || event.at().isAfter(r.latest)) r.latest = event.at();
      }
    }
    return r;
  }

  private static Replay join(Future<Replay> pending) {
    try {
      return pending.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("the audit was interrupted", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  /** Applies one event after checking that it follows its predecessor in sequence and in hash. */
  private static void replay(Replay r, long sequenceNr, SessionEvent event) {
    if (sequenceNr != r.lastSeqNr + 1) {
      for (long missing = r.lastSeqNr + 1; missing < sequenceNr; missing++) {
        r.breaks.add(new ChainBreak(r.id, missing, "event missing from the journal"));
      }
    } else if (!event.prevHash().equals(r.state.lastHash())) {
      r.breaks.add(new ChainBreak(r.id, sequenceNr,
          "prevHash does not match the event before it: that event or this one was changed"));
    }
    r.state = r.state.apply(event);
    r.events++;
    r.lastSeqNr = sequenceNr;
  }

  private Report report(String org, YearMonth month, List<Replay> replays, Map<String, LedgerRow> ledger,
      Instant readUpTo) {
    MessageDigest digest = sha256(); // over the sessions reported, in journal order
    List<Discrepancy> discrepancies = new ArrayList<>();
    List<ChainBreak> breaks = new ArrayList<>();
    Map<String, LedgerRow> unmatched = new HashMap<>(ledger);
    long events = 0, ledgerSeconds = 0, replayedSeconds = 0, ledgerMicros = 0, replayedMicros = 0;
    int sessions = 0;
    for (Replay r : replays) {
      long replayed = Billing.charge(r.state, null).secondsByMonth().getOrDefault(month, 0L);
      LedgerRow row = unmatched.remove(r.id);
      if (replayed == 0 && row == null && !touches(r.state, month)) continue;
      sessions++;
      events += r.events;
      breaks.addAll(r.breaks);
      digest.update((r.id + ":" + HexFormat.of().formatHex(r.digest.digest()) + "\n").getBytes(StandardCharsets.UTF_8));
      long recorded = row == null ? 0 : row.seconds();
      replayedSeconds += replayed;
      replayedMicros += Math.multiplyExact(replayed, rates.of(r.state.runnerClass()));
      ledgerSeconds += recorded;
      ledgerMicros += row == null ? 0 : row.micros();
      if (row != null && row.lastSeqNr() == r.lastSeqNr && !row.lastHash().equals(r.state.lastHash())) {
        breaks.add(new ChainBreak(r.id, r.lastSeqNr, "the journal's last event differs from the one the ledger billed"));
      }
      if (recorded != replayed) {
        String reason = row != null && row.lastSeqNr() < r.lastSeqNr
            ? "the ledger has not yet caught up (event " + row.lastSeqNr() + " of " + r.lastSeqNr + ")"
            : "the ledger says " + recorded + " s, the journal gives " + replayed + " s";
        discrepancies.add(new Discrepancy(r.id, recorded, replayed, reason));
      }
    }
    for (Map.Entry<String, LedgerRow> orphan : new TreeMap<>(unmatched).entrySet()) {
      sessions++;
      ledgerSeconds += orphan.getValue().seconds();
      ledgerMicros += orphan.getValue().micros();
      discrepancies.add(new Discrepancy(orphan.getKey(), orphan.getValue().seconds(), 0,
          "the ledger bills a session that has no events in the journal"));
    }
    return new Report(org, month.toString(), readUpTo, sessions, events, ledgerSeconds, replayedSeconds,
        ledgerMicros, replayedMicros, List.copyOf(discrepancies), List.copyOf(breaks),
        HexFormat.of().formatHex(digest.digest()),
        discrepancies.isEmpty() && breaks.isEmpty());
  }

  /** Whether any part of the session's life lies in the month, charged or not. */
  private static boolean touches(SessionState s, YearMonth month) {
    Instant start = month.atDay(1).atStartOfDay().toInstant(java.time.ZoneOffset.UTC);
    Instant end = month.plusMonths(1).atDay(1).atStartOfDay().toInstant(java.time.ZoneOffset.UTC);
    Instant from = s.createdAt();
    Instant to = s.lastEventAt();
    return from != null && from.isBefore(end) && !to.isBefore(start);
  }

  private Map<String, LedgerRow> ledger(String org, YearMonth month) throws SQLException {
    Map<String, LedgerRow> rows = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement st = c.prepareStatement(
            "SELECT session_id, charged_seconds, micros, last_seq_nr, last_hash FROM ledger WHERE org = ? AND month = ?")) {
      st.setString(1, org);
      st.setDate(2, Date.valueOf(month.atDay(1)));
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getObject(1, UUID.class).toString(),
              new LedgerRow(rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getString(5)));
        }
      }
    }
    return rows;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
