package dev.offload.session;

import static org.junit.jupiter.api.Assertions.*;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.ConfigFactory;
import dev.offload.ClientError;
import dev.offload.runner.RunnerInfo;
import dev.offload.runner.RunnerPool;
import dev.offload.session.SessionEntity.*;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Every message that crosses nodes survives Jackson CBOR, as configured for the product. */
class SessionSerializationTest {
  private static final ActorTestKit TESTKIT =
      ActorTestKit.create(ConfigFactory.parseString("akka.actor.provider = local").withFallback(ConfigFactory.load()));
  private static final SerializationTestKit SERIALIZATION = new SerializationTestKit(TESTKIT.system());

  @AfterAll
  static void shutdown() {
    TESTKIT.shutdownTestKit();
  }

  @Test
  void sessionProtocolSerialises() {
    TestProbe<Reply> replies = TESTKIT.createTestProbe();
    TestProbe<RunnerPool.LeaseReply> leases = TESTKIT.createTestProbe();
    TestProbe<RunnerPool.RunnerList> lists = TESTKIT.createTestProbe();
    SessionState state = SessionEventFixtures.stateAfterAllEvents();
    RunnerInfo runner = new RunnerInfo("local-1", "standard", "local", "127.0.0.1", 2222, "offload",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOo", "unix:///var/run/docker.sock");
    List<Object> messages = List.of(
        new Start("acme", "alice", "standard", 300, Map.of("team", "web"), replies.getRef()),
        new Get(replies.getRef()),
        new Stop("alice", replies.getRef()),
        new Resume(replies.getRef()),
        new Terminate(SessionState.USAGE_LIMIT, "billing", replies.getRef()),
        new ConnectionOpened("c1", replies.getRef()),
        new ConnectionClosed("c1"),
        new ConnectionsHeld(java.util.Set.of("c1", "c2"), replies.getRef()),
        new BytesMoved(4096),
        new ContainerStartedOnRunner("f3a", "nginx:1.27"),
        new ContainerStoppedOnRunner("f3a"),
        new StopEntity(),
        new Accepted(new SessionView(state, 2, Instant.parse("2026-11-28T10:00:01.250Z"), "tunnel-bytes")),
        new Rejected(ClientError.Code.SESSION_TERMINATED, "session s1 is terminated"),
        new RunnerPool.Lease("s1", "standard", Instant.parse("2026-11-28T10:02:00Z"), leases.getRef()),
        new RunnerPool.Release("s1", "local-1"),
        new RunnerPool.Leased("s1", runner),
        new RunnerPool.LeaseRefused("s1", "no standard runner became free before the provisioning deadline"),
        new RunnerPool.GetRunners(lists.getRef()),
        state);
    for (Object message : messages) {
      assertEquals(message, SERIALIZATION.verifySerialization(message, true), message.getClass().getSimpleName());
    }
  }

  @Test
  void everyEventSerialises() {
    for (SessionEvent event : SessionEventFixtures.allEvents()) {
      assertEquals(event, SERIALIZATION.verifySerialization(event, true));
    }
  }
}
