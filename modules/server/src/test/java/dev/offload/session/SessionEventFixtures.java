package dev.offload.session;

import dev.offload.runner.PublishedPort;
import dev.offload.session.SessionEvent.*;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One event of every type, chained as a real session would write them. */
final class SessionEventFixtures {
  static final String SESSION_ID = "5b0c7f63-1f43-4f4e-9b1f-3a0d2f1c9e11";
  private static final Instant T0 = Instant.parse("2026-11-28T10:00:00.123Z");

  private SessionEventFixtures() {}

  /** Every event type of the current release: version 1's, with the ports a container publishes. */
  static List<SessionEvent> allEvents() {
    return events(true);
  }

  /** The events of version 1, the first journal format. */
  static List<SessionEvent> version1Events() {
    return events(false);
  }

  private static List<SessionEvent> events(boolean withPorts) {
    List<SessionEvent> events = new ArrayList<>();
    SessionState s = SessionState.empty(SESSION_ID);
    s = add(events, s, s.requested("acme", "alice", "standard", 300, Map.of("team", "web"), java.time.Duration.ofMinutes(2), T0));
    s = add(events, s, s.runnerAssigned("local-1", "standard", "127.0.0.1:40022", T0.plusMillis(40)));
    s = add(events, s, s.activated(T0.plusMillis(90)));
    s = add(events, s, s.containerStarted("f3a9", "nginx:1.27", T0.plusSeconds(5)));
    if (withPorts) {
      s = add(events, s, s.portsPublished("f3a9", "web",
          List.of(new PublishedPort(8080, 80, "tcp"), new PublishedPort(8443, 443, "tcp")), T0.plusSeconds(5).plusMillis(40))
          .orElseThrow());
    }
    s = add(events, s, s.containerStopped("f3a9", T0.plusSeconds(65)));
    s = add(events, s, s.gracePeriodStarted(T0.plusSeconds(65)));
    s = add(events, s, s.activityResumed("tunnel-connection", T0.plusSeconds(70)));
    s = add(events, s, s.gracePeriodStarted(T0.plusSeconds(80)));
    s = add(events, s, s.idled(java.time.Duration.ofMinutes(5), T0.plusSeconds(380)));
    s = add(events, s, s.resumed("api-resume", T0.plusSeconds(400)));
    add(events, s, s.terminated(SessionState.STOPPED, "alice", T0.plusSeconds(500)));
    return events;
  }

  static SessionState stateAfterAllEvents() {
    SessionState s = SessionState.empty(SESSION_ID);
    for (SessionEvent e : allEvents()) s = s.apply(e);
    return s;
  }

  private static SessionState add(List<SessionEvent> events, SessionState s, SessionEvent e) {
    events.add(e);
    return s.apply(e);
  }
}
