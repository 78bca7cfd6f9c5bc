package dev.offload.loadtests;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.offload.billing.Audit;
import dev.offload.billing.Billing;
import dev.offload.billing.Rates;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionState;
import dev.offload.storage.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * P8 of quality.md: events the billing audit replays and bills per second ÷ rows per second of a
 * plain JDBC scan of the same journal rows, side by side in one run, on an embedded PostgreSQL
 * filled with sessions as the product writes them (serialised events, hash chain, ledger rows).
 *
 * <p>{@code AuditBenchmark <results dir>}; BENCH_AUDIT_SESSIONS (25000), BENCH_ROUNDS (3).
 */
public final class AuditBenchmark {
  private static final String ORG = "bench";

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    int sessions = Integer.parseInt(System.getenv().getOrDefault("BENCH_AUDIT_SESSIONS", "25000"));
    int rounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "3"));
    Path data = Files.createTempDirectory("offload-p8");
    Config config = ConfigFactory.parseMap(Map.of("offload.data-dir", data.toString(), "offload.db.url", ""))
        .withFallback(ConfigFactory.load()).resolve();
    Rates rates = Rates.fromConfig(config);
    YearMonth month = YearMonth.now(ZoneOffset.UTC);
    try (Database db = Database.start(config)) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "p8",
          ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING").withFallback(config));
      try {
        Serialization serialization = SerializationExtension.get(system.classicSystem());
        long started = System.nanoTime();
        long events = fill(db.dataSource(), serialization, rates, sessions, month);
        System.err.printf("journal: %d sessions, %d events written in %.1f s%n", sessions, events,
            (System.nanoTime() - started) / 1e9);
        Audit audit = new Audit(db.dataSource(), serialization, rates);
        audit.run(ORG, month); // warm-up of both paths before measuring
        scan(db.dataSource());
        List<Double> scans = new ArrayList<>();
        List<Double> audits = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
          long t0 = System.nanoTime();
          long rows = scan(db.dataSource());
          scans.add(rows / ((System.nanoTime() - t0) / 1e9));
          long t1 = System.nanoTime();
          Audit.Report report = audit.run(ORG, month);
          audits.add(report.events() / ((System.nanoTime() - t1) / 1e9));
          if (!report.ok() || report.events() != rows) {
            throw new IllegalStateException("the audit must replay every row and find nothing: " + report);
          }
        }
        write(out, sessions, events, scans, audits);
      } finally {
        system.terminate();
      }
    }
  }

  /** The same rows, read as the audit reads them, and nothing done with them. */
  private static long scan(DataSource dataSource) throws Exception {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement st = c.prepareStatement(
          "SELECT persistence_id, sequence_number, event_ser_id, event_ser_manifest, event_payload"
              + " FROM event_journal WHERE persistence_id LIKE 'Session|%' AND NOT deleted"
              + " ORDER BY persistence_id, sequence_number")) {
        st.setFetchSize(1000);
        long rows = 0;
        long bytes = 0;
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            rs.getString(1);
            rs.getLong(2);
            rs.getInt(3);
            rs.getString(4);
            bytes += rs.getBytes(5).length;
            rows++;
          }
        }
        if (bytes == 0) throw new IllegalStateException("empty journal");
        return rows;
      } finally {
        c.rollback();
      }
    }
  }

  /** Sessions as the product writes them: chained events, and the ledger rows they bill. */
  private static long fill(DataSource dataSource, Serialization serialization, Rates rates, int sessions, YearMonth month)
      throws Exception {
    Instant base = month.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC).plus(Duration.ofHours(1));
    long events = 0;
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement journal = c.prepareStatement(
              "INSERT INTO event_journal (persistence_id, sequence_number, writer, write_timestamp, event_ser_id,"
                  + " event_ser_manifest, event_payload) VALUES (?, ?, 'bench', 0, ?, ?, ?)");
          PreparedStatement ledger = c.prepareStatement(
              "INSERT INTO ledger (session_id, month, org, user_name, runner_class, charged_seconds, micros, last_seq_nr,"
                  + " last_hash, updated_at) VALUES (?, ?, ?, ?, 'standard', ?, ?, ?, ?, now())")) {
        for (int i = 0; i < sessions; i++) {
          String id = UUID.randomUUID().toString();
          Instant t = base.plusMillis(i * 37L);
          SessionState s = SessionState.empty(id);
          List<SessionEvent> lifecycle = new ArrayList<>();
          s = add(lifecycle, s, s.requested(ORG, "u" + (i % 100), "standard", 60, Map.of(), Duration.ofMinutes(2), t));
          s = add(lifecycle, s, s.runnerAssigned("local-1", "standard", "127.0.0.1:2222", t.plusMillis(30)));
          s = add(lifecycle, s, s.activated(t.plusMillis(80)));
          s = add(lifecycle, s, s.gracePeriodStarted(t.plusSeconds(300)));
          s = add(lifecycle, s, s.activityResumed("tunnel-bytes", t.plusSeconds(320)));
          s = add(lifecycle, s, s.gracePeriodStarted(t.plusSeconds(900)));
          s = add(lifecycle, s, s.idled(Duration.ofMinutes(5), t.plusSeconds(960)));
          s = add(lifecycle, s, s.resumed("api-resume", t.plusSeconds(1000)));
          s = add(lifecycle, s, s.terminated("stopped", "u", t.plusSeconds(1500)));
          for (int seq = 0; seq < lifecycle.size(); seq++) {
            SessionEvent e = lifecycle.get(seq);
            Serializer serializer = serialization.findSerializerFor(e);
            journal.setString(1, "Session|" + id);
            journal.setLong(2, seq + 1);
            journal.setInt(3, serializer.identifier());
            journal.setString(4, Serializers.manifestFor(serializer, e));
            journal.setBytes(5, serializer.toBinary(e));
            journal.addBatch();
            events++;
          }
          Billing.SessionCharge charge = Billing.charge(s, null);
          for (Map.Entry<YearMonth, Long> m : charge.secondsByMonth().entrySet()) {
            ledger.setObject(1, UUID.fromString(id));
            ledger.setDate(2, Date.valueOf(m.getKey().atDay(1)));
            ledger.setString(3, ORG);
            ledger.setString(4, "u" + (i % 100));
            ledger.setLong(5, m.getValue());
            ledger.setLong(6, m.getValue() * rates.of("standard"));
            ledger.setLong(7, lifecycle.size());
            ledger.setString(8, s.lastHash());
            ledger.addBatch();
          }
          if (i % 500 == 499) {
            journal.executeBatch();
            ledger.executeBatch();
            c.commit();
          }
        }
        journal.executeBatch();
        ledger.executeBatch();
        c.commit();
      }
      try (var st = c.createStatement()) {
        st.execute("ANALYZE event_journal");
      }
      c.commit();
    }
    return events;
  }

  private static SessionState add(List<SessionEvent> events, SessionState s, SessionEvent e) {
    events.add(e);
    return s.apply(e);
  }

  private static void write(Path out, int sessions, long events, List<Double> scans, List<Double> audits) throws Exception {
    double scan = Figures.median(scans);
    double audit = Figures.median(audits);
    String table = String.join("\n",
        "| id | figure | audit (events/s) | plain JDBC scan (rows/s) | ratio | target | holds |",
        "|---|---|---|---|---|---|---|",
        String.format("| P8 | audit replay of %,d events (%,d sessions), median of %d rounds | %,.0f | %,.0f | %.2f | ≥ 0.5 and ≥ 100,000 events/s | %s |",
            events, sessions, audits.size(), audit, scan, audit / scan,
            audit / scan >= 0.5 && audit >= 100_000 ? "yes" : "no"),
        "");
    Files.createDirectories(out);
    Files.writeString(out.resolve("p8.md"), table);
    StringBuilder raw = new StringBuilder("round,audit_events_per_s,scan_rows_per_s\n");
    for (int i = 0; i < scans.size(); i++) raw.append(i + 1).append(',').append(audits.get(i)).append(',').append(scans.get(i)).append('\n');
    Files.writeString(out.resolve("p8.csv"), raw.toString());
    System.out.print(table);
  }
}
