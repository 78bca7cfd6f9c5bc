package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import dev.offload.session.SessionEvent.*;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EventHashTest {

  private static final Instant AT = Instant.parse("2026-11-28T10:00:00Z");

  @Test
  void theSameEventAlwaysHashesTheSame() {
    var a = new SessionRequested("s1", "acme", "alice", "standard", 300, Map.of("b", "2", "a", "1"), AT, AT, "x");
    var b = new SessionRequested("s1", "acme", "alice", "standard", 300, Map.of("a", "1", "b", "2"), AT, AT, "x");
    assertEquals(EventHash.of(a), EventHash.of(b), "map order must not matter");
  }

  @Test
  void aChangedPayloadBreaksTheChain() {
    SessionState s = SessionState.empty("s1");
    SessionEvent first = s.requested("acme", "alice", "standard", 300, Map.of(), java.time.Duration.ofMinutes(2), AT);
    s = s.apply(first);
    SessionEvent second = s.terminated("stopped", "alice", AT.plusSeconds(30));
    assertEquals(EventHash.of(first), second.prevHash());

    var tampered = new SessionRequested("s1", "acme", "alice", "standard", 3600, Map.of(), AT.plusSeconds(120), AT, first.prevHash());
    assertNotEquals(EventHash.of(tampered), second.prevHash());
    var otherTime = new SessionTerminated("stopped", "alice", AT.plusSeconds(31), second.prevHash());
    assertNotEquals(EventHash.of(second), EventHash.of(otherTime));
  }

  @Test
  void theFirstEventHashesTheSessionId() {
    assertEquals(EventHash.genesis("s1"), SessionState.empty("s1").lastHash());
    assertNotEquals(EventHash.genesis("s1"), EventHash.genesis("s2"));
  }
}
