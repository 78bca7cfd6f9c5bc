package dev.offload.webhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.offload.session.SessionEvent;
import dev.offload.session.SessionFold;
import dev.offload.session.SessionState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Queues webhook deliveries. Session state changes are queued by the session projection in its
 * own transaction, so each one is queued exactly once whatever the projection replays; a
 * delivery's id is derived from what it announces, so a retry carries the same id.
 */
public final class WebhookOutbox implements SessionFold {
  private static final ObjectMapper JSON = JsonMapper.builder().addModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();

  private final DataSource dataSource;
  private final Clock clock;

  public WebhookOutbox(DataSource dataSource, Clock clock) {
    this.dataSource = dataSource;
    this.clock = clock;
  }

  @Override
  public void folded(Connection c, SessionState after, long sequenceNr, SessionEvent event) throws SQLException {
    if (!changesPhase(event)) return;
    Map<String, Object> session = new LinkedHashMap<>();
    session.put("id", after.id());
    session.put("org", after.org());
    session.put("user", after.user());
    session.put("state", after.phase().apiName);
    session.put("runnerClass", after.runnerClass());
    session.put("runner", after.runnerId());
    session.put("terminationReason", after.terminationReason());
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", Webhooks.SESSION_STATE);
    body.put("at", event.at());
    body.put("session", session);
    queue(c, after.org(), Webhooks.SESSION_STATE, after.id(), sequenceNr, body);
  }

  /** The events that move a session from one state to another (container events do not). */
  private static boolean changesPhase(SessionEvent event) {
    return event instanceof SessionEvent.SessionRequested || event instanceof SessionEvent.SessionActivated
        || event instanceof SessionEvent.GracePeriodStarted || event instanceof SessionEvent.ActivityResumed
        || event instanceof SessionEvent.SessionIdled || event instanceof SessionEvent.SessionResumed
        || event instanceof SessionEvent.SessionTerminated;
  }

  /** Once per organisation and month, whoever calls it how often (the enforcer, every interval). */
  public void usageWarning(String org, YearMonth month, long remainingSeconds) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", Webhooks.USAGE_WARNING);
    body.put("at", clock.instant());
    body.put("org", org);
    body.put("month", month.toString());
    body.put("remainingSeconds", remainingSeconds);
    try (Connection c = dataSource.getConnection()) {
      queue(c, org, Webhooks.USAGE_WARNING, "usage:" + org + ":" + month, month.getYear() * 12L + month.getMonthValue(), body);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot queue the usage warning of " + org, e);
    }
  }

  private void queue(Connection c, String org, String type, String stream, long position, Map<String, Object> body)
      throws SQLException {
    List<String> hooks = new ArrayList<>();
    try (PreparedStatement st = c.prepareStatement(
        "SELECT id FROM webhooks WHERE org = ? AND deleted_at IS NULL AND ? = ANY(events)")) {
      st.setString(1, org);
      st.setString(2, type);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) hooks.add(rs.getString(1));
      }
    }
    if (hooks.isEmpty()) return;
    Instant now = clock.instant();
    try (PreparedStatement st = c.prepareStatement(
        "INSERT INTO webhook_deliveries (id, webhook_id, stream, position, event_type, body, created_at, next_attempt_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")) {
      for (String hook : hooks) {
        String id = deliveryId(hook, stream, position);
        Map<String, Object> withId = new LinkedHashMap<>(Map.of("id", id));
        withId.putAll(body);
        st.setString(1, id);
        st.setString(2, hook);
        st.setString(3, stream);
        st.setLong(4, position);
        st.setString(5, type);
        st.setString(6, JSON.writeValueAsString(withId));
        st.setTimestamp(7, Timestamp.from(now));
        st.setTimestamp(8, Timestamp.from(now));
        st.addBatch();
      }
      st.executeBatch();
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String deliveryId(String webhook, String stream, long position) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest((webhook + "|" + stream + "|" + position).getBytes(StandardCharsets.UTF_8));
      return "dlv_" + HexFormat.of().formatHex(hash, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
