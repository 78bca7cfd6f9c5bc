package dev.offload.server;

import static org.junit.jupiter.api.Assertions.*;

import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.offload.api.ApiClient;
import dev.offload.session.SessionEvent;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ledger, kept live from the journal, equals the journal replayed by the audit; the offline
 * audit gives the same digest; and every kind of tampering is found, with its session and event.
 */
class AuditTest {
  private static final String OP = TestServer.OPERATOR_TOKEN;
  private static TestServer server;
  private static ApiClient api;
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 3, max = 3 }");
    api = server.api();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Runs {@code count} sessions through start → running → stop in a new organisation. */
  private static List<String> workload(String org, int count) {
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"" + org + "\"}").status());
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String token = api.post("/v1/orgs/" + org + "/tokens", OP, "{\"user\":\"u" + i + "\",\"role\":\"member\"}")
          .json().get("token").asText();
      String id = api.post("/v1/sessions", token, "{}").json().get("id").asText();
      if (i % 3 != 2) { // every third one is stopped while it may still be provisioning
        Await.until(Duration.ofSeconds(15), () -> api.get("/v1/sessions/" + id, token).json().get("state").asText(),
            s -> !s.equals("provisioning"), "session running");
      }
      api.delete("/v1/sessions/" + id, token);
      ids.add(id);
    }
    return ids;
  }

  private static JsonNode auditWhenCaughtUp(String org) {
    return Await.until(Duration.ofSeconds(20), () -> api.get("/v1/orgs/" + org + "/audit?month=" + MONTH, OP).json(),
        r -> r.path("discrepancies").isArray() && r.get("discrepancies").isEmpty(), "the ledger to catch up");
  }

  @Test
  void theLedgerEqualsTheReplayedJournal() throws Exception {
    List<String> ids = workload("audited", 6);
    JsonNode report = auditWhenCaughtUp("audited");
    assertTrue(report.get("ok").asBoolean(), report.toString());
    assertEquals("audited", report.get("org").asText());
    assertEquals(MONTH, report.get("month").asText());
    assertEquals(ids.size(), report.get("sessions").asInt());
    assertTrue(report.get("events").asLong() >= ids.size() * 2L);
    assertEquals(report.get("ledgerSeconds").asLong(), report.get("replayedSeconds").asLong());
    assertEquals(report.get("ledgerMicros").asLong(), report.get("replayedMicros").asLong());
    assertTrue(report.get("replayedSeconds").asLong() > 0, "running sessions were charged");
    assertEquals(64, report.get("digest").asText().length());

    // The same audit offline, against the database alone, gives the same digest.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    int exit;
    try {
      System.setOut(new PrintStream(out, true));
      exit = AuditCommand.run(List.of("--jdbc-url", jdbcUrlWithCredentials(), "--org", "audited", "--month", MONTH),
          server.server().system().settings().config());
    } finally {
      System.setOut(stdout);
    }
    // The server under test logs to the same stdout meanwhile: the report is the JSON object in it.
    String printed = out.toString();
    JsonNode offline = new ObjectMapper().readTree(
        printed.substring(printed.indexOf("{\n"), printed.lastIndexOf("\n}") + 2));
    assertEquals(0, exit, offline.toString());
    assertEquals(report.get("digest"), offline.get("digest"));
    assertEquals(report.get("replayedSeconds"), offline.get("replayedSeconds"));
  }

  @Test
  void tamperingIsReportedWithItsSessionAndEvent() throws Exception {
    List<String> ids = workload("tampered", 4);
    assertTrue(auditWhenCaughtUp("tampered").get("ok").asBoolean());
    String edited = ids.get(0), deleted = ids.get(1), inserted = ids.get(2), billed = ids.get(3);

    try (Connection c = server.connect()) {
      // An edited payload: the runner assignment rewritten with another endpoint.
      SessionEvent.RunnerAssigned original = (SessionEvent.RunnerAssigned) event(c, edited, 2);
      write(c, edited, 2, new SessionEvent.RunnerAssigned(original.runnerId(), original.runnerClass(),
          "10.9.9.9:22", original.at(), original.prevHash()), false);
      // A deleted row.
      exec(c, "DELETE FROM event_journal WHERE persistence_id = 'Session|" + deleted + "' AND sequence_number = 2");
      // An inserted row: a copy of the last event appended after it.
      long last = lastSeqNr(c, inserted);
      write(c, inserted, last + 1, event(c, inserted, last), true);
      // A ledger row changed behind the system's back.
      exec(c, "UPDATE ledger SET charged_seconds = charged_seconds + 100 WHERE session_id = '" + billed + "'");
    }

    JsonNode report = api.get("/v1/orgs/tampered/audit?month=" + MONTH, OP).json();
    assertFalse(report.get("ok").asBoolean());
    assertTrue(hasBreak(report, edited, 3), "the event after the edited one no longer chains: " + report);
    assertTrue(hasBreak(report, deleted, 2), "the deleted event is missing: " + report);
    assertTrue(hasBreak(report, inserted, lastSeqNrOf(inserted) ), "the inserted event does not chain: " + report);
    JsonNode discrepancies = report.get("discrepancies");
    assertEquals(1, discrepancies.size(), report.toString());
    assertEquals(billed, discrepancies.get(0).get("session").asText());
    assertEquals(discrepancies.get(0).get("replayedSeconds").asLong() + 100,
        discrepancies.get(0).get("ledgerSeconds").asLong());
  }

  @Test
  void membersCannotAuditAndBadMonthsAreRefused() {
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"private\"}").status());
    String member = api.post("/v1/orgs/private/tokens", OP, "{\"user\":\"m\",\"role\":\"member\"}").json().get("token").asText();
    String owner = api.post("/v1/orgs/private/tokens", OP, "{\"user\":\"o\",\"role\":\"owner\"}").json().get("token").asText();
    assertEquals(403, api.get("/v1/orgs/private/audit", member).status());
    assertEquals(404, api.get("/v1/orgs/audited/audit", owner).status());
    ApiClient.Response bad = api.get("/v1/orgs/private/audit?month=2026-13", owner);
    assertEquals(400, bad.status());
    assertEquals("month", bad.errorField());
    JsonNode empty = api.get("/v1/orgs/private/audit", owner).json();
    assertTrue(empty.get("ok").asBoolean());
    assertEquals(0, empty.get("sessions").asInt());
  }

  // ---- the journal, by hand ----

  private static boolean hasBreak(JsonNode report, String session, long sequenceNr) {
    for (JsonNode b : report.get("chainBreaks")) {
      if (b.get("session").asText().equals(session) && b.get("sequenceNr").asLong() == sequenceNr) return true;
    }
    return false;
  }

  private static long lastSeqNrOf(String session) throws Exception {
    try (Connection c = server.connect()) {
      return lastSeqNr(c, session);
    }
  }

  private static long lastSeqNr(Connection c, String session) throws Exception {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT max(sequence_number) FROM event_journal WHERE persistence_id = ?")) {
      st.setString(1, "Session|" + session);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static SessionEvent event(Connection c, String session, long seq) throws Exception {
    try (PreparedStatement st = c.prepareStatement(
        "SELECT event_ser_id, event_ser_manifest, event_payload FROM event_journal WHERE persistence_id = ? AND sequence_number = ?")) {
      st.setString(1, "Session|" + session);
      st.setLong(2, seq);
      try (ResultSet rs = st.executeQuery()) {
        assertTrue(rs.next());
        return (SessionEvent) serialization().deserialize(rs.getBytes(3), rs.getInt(1), rs.getString(2)).get();
      }
    }
  }

  private static void write(Connection c, String session, long seq, SessionEvent event, boolean insert) throws Exception {
    Serializer serializer = serialization().findSerializerFor(event);
    String sql = insert
        ? "INSERT INTO event_journal (event_payload, event_ser_id, event_ser_manifest, persistence_id, sequence_number, writer, write_timestamp)"
            + " VALUES (?, ?, ?, ?, ?, 'someone', 0)"
        : "UPDATE event_journal SET event_payload = ?, event_ser_id = ?, event_ser_manifest = ? WHERE persistence_id = ? AND sequence_number = ?";
    try (PreparedStatement st = c.prepareStatement(sql)) {
      st.setBytes(1, serializer.toBinary(event));
      st.setInt(2, serializer.identifier());
      st.setString(3, Serializers.manifestFor(serializer, event));
      st.setString(4, "Session|" + session);
      st.setLong(5, seq);
      assertEquals(1, st.executeUpdate());
    }
  }

  private static void exec(Connection c, String sql) throws Exception {
    try (var st = c.createStatement()) {
      assertEquals(1, st.executeUpdate(sql), sql);
    }
  }

  private static Serialization serialization() {
    return SerializationExtension.get(server.server().system().classicSystem());
  }

  private static String jdbcUrlWithCredentials() throws Exception {
    try (Connection c = server.connect()) {
      return c.getMetaData().getURL() + (c.getMetaData().getURL().contains("?") ? "&" : "?")
          + "user=" + c.getMetaData().getUserName() + "&password=" + dev.offload.storage.TestDatabase.get().password();
    }
  }
}
