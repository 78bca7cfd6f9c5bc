package dev.offload.session;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.ShardedDaemonProcessSettings;
import akka.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.Offset;
import akka.projection.ProjectionBehavior;
import akka.projection.ProjectionId;
import akka.projection.eventsourced.EventEnvelope;
import akka.projection.eventsourced.javadsl.EventSourcedProvider;
import akka.projection.javadsl.ExactlyOnceProjection;
import akka.projection.jdbc.javadsl.JdbcHandler;
import akka.projection.jdbc.javadsl.JdbcProjection;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.offload.storage.PlainJdbcSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code sessions} table: a read model of every session, folded from the journal by an
 * exactly-once projection (offset and row in one transaction), one projection instance per tag.
 */
public final class SessionIndex {
  private static final Logger log = LoggerFactory.getLogger(SessionIndex.class);

  static final ObjectMapper JSON =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  /**
   * One session as listed: its last known state and who it belongs to. A row at sequence number
   * 0 is a reservation: a start request has decided to create the session and its entity is
   * being started; the snapshot is what the request expects its first state to be.
   */
  public record Row(
      UUID id, String org, String user, String runnerClass, String state, Instant createdAt,
      SessionState snapshot, long lastSeqNr) {
    public boolean isTerminated() {
      return SessionState.Phase.TERMINATED.apiName.equals(state);
    }

    public boolean isReserved() {
      return lastSeqNr == 0;
    }
  }

  private final DataSource dataSource;
  private List<SessionFold> followers = List.of();

  public SessionIndex(DataSource dataSource) {
    this.dataSource = dataSource;
    SessionMetrics.countFrom(dataSource);
  }

  public Optional<Row> find(UUID id) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return find(c, id);
    }
  }

  Optional<Row> find(Connection c, UUID id) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(SELECT + " WHERE id = ?")) {
      st.setObject(1, id);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  /** Newest first; {@code after} is the last row of the previous page, or null. */
  public List<Row> list(String org, String user, String state, int limit, Row after)
      throws SQLException {
    StringBuilder sql = new StringBuilder(SELECT + " WHERE org = ?");
    List<Object> args = new ArrayList<>(List.of(org));
    if (user != null) {
      sql.append(" AND user_name = ?");
      args.add(user);
    }
    if (state != null) {
      sql.append(" AND state = ?");
      args.add(state);
    }
    if (after != null) {
      sql.append(" AND (created_at, id) < (?, ?)");
      args.add(Timestamp.from(after.createdAt()));
      args.add(after.id());
    }
    sql.append(" ORDER BY created_at DESC, id DESC LIMIT ?");
    args.add(limit);
    try (Connection c = dataSource.getConnection();
        PreparedStatement st = c.prepareStatement(sql.toString())) {
      for (int i = 0; i < args.size(); i++) st.setObject(i + 1, args.get(i));
      List<Row> rows = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) rows.add(row(rs));
      }
      return rows;
    }
  }

  /** Ids of the sessions of an organisation (and user, if given) not known to be terminated. */
  public List<Row> live(Connection c, String org, String user) throws SQLException {
    String sql = SELECT + " WHERE org = ? AND state <> 'terminated'" + (user == null ? "" : " AND user_name = ?");
    try (PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, org);
      if (user != null) st.setString(2, user);
      List<Row> rows = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) rows.add(row(rs));
      }
      return rows;
    }
  }

  /** A start request's reservation, written before the entity exists; see {@link Row}. */
  void reserve(Connection c, SessionState placeholder, String idempotencyKey, String requestHash) throws SQLException {
    insert(c, placeholder, 0, idempotencyKey, requestHash);
  }

  /** The entity's first state replaces the reservation's placeholder, unless the projection was first. */
  void confirm(SessionState requested) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement st = c.prepareStatement(
            "UPDATE sessions SET state = ?, snapshot = ?::jsonb, last_seq_nr = 1 WHERE id = ? AND last_seq_nr = 0")) {
      st.setString(1, requested.phase().apiName);
      st.setString(2, toJson(requested));
      st.setObject(3, UUID.fromString(requested.id()));
      st.executeUpdate();
    } catch (SQLException e) {
      // The session exists in the journal; the projection replaces the placeholder shortly.
      log.warn("Session {}: its first state is left to the index projection: {}", requested.id(), e.getMessage());
    }
  }

  /** The start failed: the reservation goes, unless the journal has the session after all. */
  void forgetReservation(UUID id) {
    try (Connection c = dataSource.getConnection()) {
      forgetReservation(c, id);
    } catch (SQLException e) {
      log.warn("Session {}: reservation of a failed start left for later clean-up: {}", id, e.getMessage());
    }
  }

  void forgetReservation(Connection c, UUID id) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("DELETE FROM sessions WHERE id = ? AND last_seq_nr = 0")) {
      st.setObject(1, id);
      st.executeUpdate();
    }
  }

  /** Reservations of starts that failed without removing them (e.g. the database went away). */
  void forgetStaleReservations(Connection c, String org, Instant before) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(
        "DELETE FROM sessions WHERE org = ? AND last_seq_nr = 0 AND created_at < ?")) {
      st.setString(1, org);
      st.setTimestamp(2, Timestamp.from(before));
      st.executeUpdate();
    }
  }

  /** The first journal event's row, when the projection indexes the session. */
  private void insertRequested(Connection c, SessionState state) throws SQLException {
    insert(c, state, 1, null, null);
  }

  private void insert(Connection c, SessionState state, long seqNr, String idempotencyKey, String requestHash)
      throws SQLException {
    try (PreparedStatement st =
        c.prepareStatement(
            "INSERT INTO sessions (id, org, user_name, runner_class, state, created_at, last_seq_nr,"
                + " snapshot, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)")) {
      st.setObject(1, UUID.fromString(state.id()));
      st.setString(2, state.org());
      st.setString(3, state.user());
      st.setString(4, state.runnerClass());
      st.setString(5, state.phase().apiName);
      st.setTimestamp(6, Timestamp.from(state.createdAt()));
      st.setLong(7, seqNr);
      st.setString(8, toJson(state));
      st.setString(9, idempotencyKey);
      st.setString(10, requestHash);
      st.executeUpdate();
    }
  }

  /** Folds one journal event into the session's row; events already applied are skipped. */
  /** The session's state after the event, or empty when the event was already applied. */
  Optional<SessionState> apply(Connection c, String sessionId, long sequenceNr, SessionEvent event) throws SQLException {
    UUID id = UUID.fromString(sessionId);
    SessionState before;
    long lastSeqNr;
    try (PreparedStatement st =
        c.prepareStatement("SELECT snapshot, last_seq_nr FROM sessions WHERE id = ? FOR UPDATE")) {
      st.setObject(1, id);
      try (ResultSet rs = st.executeQuery()) {
        if (rs.next()) {
          lastSeqNr = rs.getLong(2);
          before = lastSeqNr == 0 ? SessionState.empty(sessionId) : fromJson(rs.getString(1));
        } else {
          lastSeqNr = 0;
          before = null;
        }
      }
    }
    if (sequenceNr <= lastSeqNr) return Optional.empty();
    if (before == null) {
      if (!(event instanceof SessionEvent.SessionRequested)) {
        log.warn("Session {}: event {} arrived before the session was indexed", sessionId, sequenceNr);
        return Optional.empty();
      }
      SessionState requested = SessionState.empty(sessionId).apply(event);
      insertRequested(c, requested);
      return Optional.of(requested);
    }
    SessionState after = before.apply(event);
    try (PreparedStatement st =
        c.prepareStatement(
            "UPDATE sessions SET state = ?, terminated_at = ?, last_seq_nr = ?, snapshot = ?::jsonb WHERE id = ?")) {
      st.setString(1, after.phase().apiName);
      st.setTimestamp(2, after.terminatedAt() == null ? null : Timestamp.from(after.terminatedAt()));
      st.setLong(3, sequenceNr);
      st.setString(4, toJson(after));
      st.setObject(5, id);
      st.executeUpdate();
    }
    return Optional.of(after);
  }

  // ---- the projection ----

  /**
   * Runs the index projection, one instance per session tag, spread over the cluster; each
   * {@code follower} sees every folded state in the same transaction.
   */
  public void startProjection(ActorSystem<?> system, List<SessionFold> followers) {
    this.followers = List.copyOf(followers);
    ShardedDaemonProcess.get(system)
        .init(
            ProjectionBehavior.Command.class,
            "session-index",
            SessionEntity.TAGS.size(),
            i -> ProjectionBehavior.create(projection(system, SessionEntity.TAGS.get(i))),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(ProjectionBehavior.stopMessage()));
  }

  private ExactlyOnceProjection<Offset, EventEnvelope<SessionEvent>> projection(
      ActorSystem<?> system, String tag) {
    return JdbcProjection.exactlyOnce(
        ProjectionId.of("session-index", tag),
        EventSourcedProvider.eventsByTag(system, JdbcReadJournal.Identifier(), tag),
        () -> new PlainJdbcSession(dataSource),
        () -> new Handler(this),
        system);
  }

  private static final class Handler extends JdbcHandler<EventEnvelope<SessionEvent>, PlainJdbcSession> {
    private final SessionIndex index;

    Handler(SessionIndex index) {
      this.index = index;
    }

    @Override
    public void process(PlainJdbcSession session, EventEnvelope<SessionEvent> envelope) throws Exception {
      String sessionId = envelope.persistenceId().substring(envelope.persistenceId().indexOf('|') + 1);
      boolean folded = session.withConnection(c -> {
        Optional<SessionState> after = index.apply(c, sessionId, envelope.sequenceNr(), envelope.event());
        if (after.isEmpty() && envelope.sequenceNr() == 1) {
          after = index.find(c, UUID.fromString(sessionId)).map(Row::snapshot); // indexed by the start request
        }
        for (SessionFold follower : index.followers) {
          if (after.isPresent()) follower.folded(c, after.get(), envelope.sequenceNr(), envelope.event());
        }
        return after.isPresent();
      });
      if (folded) SessionMetrics.TRANSITIONS.labelValues(envelope.event().getClass().getSimpleName()).inc();
    }
  }

  // ---- rows and JSON ----

  private static final String SELECT =
      "SELECT id, org, user_name, runner_class, state, created_at, snapshot, last_seq_nr FROM sessions";

  private static Row row(ResultSet rs) throws SQLException {
    String snapshot = rs.getString(7);
    return new Row(
        rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
        rs.getString(5), rs.getTimestamp(6).toInstant(), snapshot == null ? null : fromJson(snapshot),
        rs.getLong(8));
  }

  static String toJson(SessionState state) {
    try {
      return JSON.writeValueAsString(state);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("session state cannot be encoded", e);
    }
  }

  /** A session as the index stores it (its JSON snapshot). */
  public static SessionState fromJson(String json) {
    try {
      return JSON.readValue(json, SessionState.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("session snapshot cannot be read", e);
    }
  }
}
