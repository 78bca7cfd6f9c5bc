package dev.offload.billing;

import dev.offload.session.SessionEvent;
import dev.offload.session.SessionFold;
import dev.offload.session.SessionState;
import io.prometheus.metrics.core.metrics.Histogram;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.util.Map;
import java.util.UUID;

/**
 * The live ledger: after every session event, the session's charge per month as the billing
 * function computes it, written in the projection's transaction so each event counts once.
 */
public final class Ledger implements SessionFold {

  private static final Histogram LAG =
      Histogram.builder()
          .name("offload_ledger_lag_seconds")
          .help("Time from a session event to its effect on the ledger")
          .classicUpperBounds(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
          .register();

  private final Rates rates;
  private final Clock clock;

  public Ledger(Rates rates, Clock clock) {
    this.rates = rates;
    this.clock = clock;
  }

  @Override
  public void folded(Connection c, SessionState after, long sequenceNr, SessionEvent event) throws SQLException {
    Billing.SessionCharge charge = Billing.charge(after, null);
    long rate = rates.of(after.runnerClass());
    try (PreparedStatement st = c.prepareStatement(
        "INSERT INTO ledger (session_id, month, org, user_name, runner_class, charged_seconds, micros,"
            + " last_seq_nr, last_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (session_id, month) DO UPDATE SET charged_seconds = EXCLUDED.charged_seconds,"
            + " micros = EXCLUDED.micros, last_seq_nr = EXCLUDED.last_seq_nr, last_hash = EXCLUDED.last_hash,"
            + " updated_at = EXCLUDED.updated_at")) {
      for (Map.Entry<YearMonth, Long> month : charge.secondsByMonth().entrySet()) {
        st.setObject(1, UUID.fromString(after.id()));
        st.setDate(2, Date.valueOf(month.getKey().atDay(1)));
        st.setString(3, after.org());
        st.setString(4, after.user());
        st.setString(5, after.runnerClass());
        st.setLong(6, month.getValue());
        st.setLong(7, Math.multiplyExact(month.getValue(), rate));
        st.setLong(8, sequenceNr);
        st.setString(9, after.lastHash());
        st.setTimestamp(10, Timestamp.from(clock.instant()));
        st.addBatch();
      }
      st.executeBatch();
    }
    LAG.observe(Math.max(0, Duration.between(event.at(), clock.instant()).toMillis()) / 1000.0);
  }
}
