package dev.offload.session;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Session figures for /metrics: sessions by state (cluster-wide, from the index) and transitions. */
final class SessionMetrics {
  private static final Logger log = LoggerFactory.getLogger(SessionMetrics.class);

  /** Counted by the index projection, so each journal event is counted once in the cluster. */
  static final Counter TRANSITIONS =
      Counter.builder()
          .name("offload_session_transitions_total")
          .help("Session events folded into the index, by event type")
          .labelNames("event")
          .register();

  private static volatile DataSource source;

  static {
    GaugeWithCallback.builder()
        .name("offload_sessions")
        .help("Sessions by state, as the session index knows them")
        .labelNames("state")
        .callback(callback -> {
          DataSource ds = source;
          if (ds == null) return;
          try (Connection c = ds.getConnection();
              Statement st = c.createStatement();
              ResultSet rs = st.executeQuery("SELECT state, count(*) FROM sessions GROUP BY state")) {
            while (rs.next()) callback.call(rs.getLong(2), rs.getString(1));
          } catch (SQLException e) {
            log.warn("Cannot count sessions for /metrics: {}", e.toString());
          }
        })
        .register();
  }

  private SessionMetrics() {}

  static void countFrom(DataSource dataSource) {
    source = dataSource;
  }
}
