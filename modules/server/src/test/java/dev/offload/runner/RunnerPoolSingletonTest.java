package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RunnerPoolSingletonTest {

  private ActorTestKit testKit;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("""
            akka.actor.provider = cluster
            akka.remote.artery.canonical.hostname = 127.0.0.1
            akka.remote.artery.canonical.port = 0
            akka.cluster.jmx.multi-mbeans-in-same-jvm = on
            akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            """)
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
  }

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void theSingletonLeasesThroughItsProxy() {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    List<RunnerInfo> offered = Runners.standard(1);

    ActorRef<Command> pool = RunnerPool.init(testKit.system(), () -> offered, Clock.systemUTC());
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "standard", Instant.now().plusSeconds(30), probe.ref()));

    assertEquals(new Leased("s1", offered.get(0)), probe.expectMessageClass(Leased.class, Duration.ofSeconds(20)));
  }
}
