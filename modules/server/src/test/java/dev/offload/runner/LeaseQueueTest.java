package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.runner.RunnerPool.Lease;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LeaseQueueTest {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");

  private static Lease lease(String session, String runnerClass, Instant deadline) {
    return new Lease(session, runnerClass, deadline, null);
  }

  @Test
  void firstComeFirstServedPerClass() {
    LeaseQueue queue = LeaseQueue.empty()
        .join(lease("s1", "standard", T0))
        .join(lease("g1", "gpu", T0))
        .join(lease("s2", "standard", T0));

    assertEquals("s1", queue.first("standard").orElseThrow().sessionId());
    assertEquals("g1", queue.first("gpu").orElseThrow().sessionId());
    queue = queue.without("s1");
    assertEquals("s2", queue.first("standard").orElseThrow().sessionId());
    queue = queue.without("s2");
    assertEquals(Optional.empty(), queue.first("standard"));
  }

  @Test
  void askingAgainKeepsTheTurnWithTheNewDeadline() {
    Instant later = T0.plusSeconds(30);
    LeaseQueue queue = LeaseQueue.empty()
        .join(lease("s1", "standard", T0))
        .join(lease("s2", "standard", T0))
        .join(lease("s1", "standard", later));

    assertEquals(lease("s1", "standard", later), queue.first("standard").orElseThrow());
    assertEquals(List.of(lease("s1", "standard", later), lease("s2", "standard", T0)),
        queue.waiting().get("standard"));
  }

  @Test
  void expiredAreThoseWhoseDeadlineIsReached() {
    LeaseQueue queue = LeaseQueue.empty()
        .join(lease("s1", "standard", T0.minusMillis(1)))
        .join(lease("s2", "standard", T0))
        .join(lease("s3", "standard", T0.plusMillis(1)));

    assertEquals(List.of("s1", "s2"),
        queue.expired(T0).stream().map(Lease::sessionId).toList());
  }

  @Test
  void findsAWaitingSession() {
    LeaseQueue queue = LeaseQueue.empty().join(lease("s1", "standard", T0));
    assertEquals("s1", queue.waiting("s1").orElseThrow().sessionId());
    assertEquals(Optional.empty(), queue.waiting("s2"));
  }
}
