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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunnerPoolSingletonTest {

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private Fleet fleet;

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
  void stop() throws Exception {
    testKit.shutdownTestKit();
    fleet.close();
  }

  @Test
  void theSingletonLeasesThroughItsProxy() {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    fleet = Fleet.start(dataDir, 1, 1);

    ActorRef<Command> pool = RunnerPool.init(testKit.system(), fleet.fleet, new Sessions(), Clock.systemUTC());
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "standard", Instant.now().plusSeconds(30), probe.ref()));

    assertEquals("local-1", probe.expectMessageClass(Leased.class, Duration.ofSeconds(20)).runner().id());
  }
}
