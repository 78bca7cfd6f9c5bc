package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import dev.offload.runner.RunnerPool.Confirm;
import dev.offload.runner.RunnerPool.Drain;
import dev.offload.runner.RunnerPool.DrainReply;
import dev.offload.runner.RunnerPool.LeaseReply;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The pool's journal events, its snapshot and its new commands, through the configured serializer. */
class RunnerPoolSerializationTest {

  private static final ActorTestKit TESTKIT = ActorTestKit.create();
  private static final SerializationTestKit SERIALIZATION = new SerializationTestKit(TESTKIT.system());
  private static final Instant AT = Instant.parse("2026-11-28T10:00:00.250Z");

  @AfterAll
  static void stop() {
    TESTKIT.shutdownTestKit();
  }

  @Test
  void everyEventAndTheSnapshotRoundTrip() {
    RunnerInfo runner = Runners.runner("vm-1", "standard");
    List<Object> persisted = List.of(
        new RunnerPool.RunnerLeased("vm-1", "s1", AT),
        new RunnerPool.RunnerReleased("vm-1", "s1", AT),
        new RunnerPool.RunnerProvisioned(runner, AT),
        new RunnerPool.RunnerAdopted(runner, AT),
        new RunnerPool.RunnerWiped("vm-1", AT),
        new RunnerPool.RunnerDrained("vm-1", AT),
        new RunnerPool.RunnerRetired("vm-1", "wipe failed: exit status 1", AT),
        new RunnerPoolState(Map.of("vm-1", new RunnerLease("vm-1", "s1", AT)), Map.of("vm-2", AT),
            Map.of("vm-1", runner), Set.of("vm-2"), Set.of("vm-1")));
    for (Object message : persisted) {
      assertEquals(message, SERIALIZATION.verifySerialization(message, true), message.getClass().getSimpleName());
    }
  }

  @Test
  void newCommandsCrossNodes() {
    TestProbe<LeaseReply> leases = TESTKIT.createTestProbe();
    TestProbe<DrainReply> drains = TESTKIT.createTestProbe();
    for (Object message : List.of(new Confirm("s1", "vm-1", leases.ref()), new Drain("vm-1", drains.ref()))) {
      assertEquals(message, SERIALIZATION.verifySerialization(message, true), message.getClass().getSimpleName());
    }
  }
}
