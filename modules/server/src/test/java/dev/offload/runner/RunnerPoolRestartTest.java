package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Confirm;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseRefused;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.RunnerStatus;
import dev.offload.storage.Database;
import dev.offload.storage.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole node stopped with two runners leased and one warm (actor system, local runners), then
 * started again on the same data directory and PostgreSQL journal: runners come back with their
 * ids and host keys, live leases stand, and the lease of a session that ended meanwhile is
 * released and wiped.
 */
class RunnerPoolRestartTest {

  private static final AtomicInteger DATABASES = new AtomicInteger();

  @TempDir Path dataDir;
  private Database database;
  private ActorTestKit testKit;
  private Fleet fleet;
  private final Sessions sessions = new Sessions();

  @BeforeEach
  void createDatabase() throws Exception {
    Database shared = TestDatabase.get();
    String name = "runner_pool_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
    try (Connection c = shared.dataSource().getConnection(); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
    database = Database.start(ConfigFactory.parseMap(Map.of(
            "offload.data-dir", dataDir.toString(),
            "offload.db.url", shared.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + name + "$1"),
            "offload.db.user", shared.user(),
            "offload.db.password", shared.password(),
            "offload.db.pool-size", 2,
            "offload.db.journal-pool-size", 4))
        .withFallback(ConfigFactory.defaultReference())
        .resolve());
  }

  @AfterEach
  void stop() throws Exception {
    stopNode();
    database.close();
  }

  private void stopNode() throws Exception {
    if (testKit != null) {
      testKit.shutdownTestKit();
      testKit = null;
    }
    if (fleet != null) {
      fleet.close();
      fleet = null;
    }
  }

  private ActorRef<Command> startPool() {
    testKit = ActorTestKit.create(database.akkaPersistenceConfig()
        .withFallback(ConfigFactory.parseString("""
            akka.actor.provider = local
            akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            akka.actor.testkit.typed.system-shutdown-default = 30s
            """))
        .withFallback(ConfigFactory.load()));
    fleet = Fleet.start(dataDir, 1, 3);
    return testKit.spawn(RunnerPool.create(fleet.fleet, sessions, Clock.systemUTC()));
  }

  private LeaseReply ask(ActorRef<Command> pool, Function<ActorRef<LeaseReply>, Command> command) {
    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(command.apply(probe.ref()));
    return probe.expectMessageClass(LeaseReply.class, WAIT);
  }

  private static Map<String, String> keys(List<RunnerStatus> runners) {
    return runners.stream().collect(Collectors.toMap(RunnerStatus::id, RunnerStatus::hostKeyFingerprint));
  }

  @Test
  void leasesStandRunnersComeBackAndEndedSessionsAreReleased() throws Exception {
    ActorRef<Command> pool = startPool();
    Instant far = Instant.now().plusSeconds(600);
    RunnerInfo kept = ((Leased) ask(pool, r -> new Lease("s1", "standard", far, r))).runner();
    RunnerInfo ended = ((Leased) ask(pool, r -> new Lease("s2", "standard", far, r))).runner();
    List<RunnerStatus> before = awaitRunners(testKit, pool,
        r -> count(r, "leased") == 2 && count(r, "warm") == 1, "two leased and one warm");

    stopNode();
    sessions.ended.add("s2");
    pool = startPool();

    ActorRef<Command> restarted = pool;
    List<RunnerStatus> after = awaitRunners(testKit, restarted,
        r -> count(r, "leased") == 1 && count(r, "warm") == 2, "s2's runner wiped and warm, s1's leased");
    assertEquals(keys(before), keys(after), "the same runners with the same host keys");
    assertTrue(fleet.dockerLog().contains(ended.id() + " docker system prune -af --volumes"), fleet.dockerLog().toString());

    Leased confirmed = (Leased) ask(restarted, r -> new Confirm("s1", kept.id(), r));
    assertEquals(kept.id(), confirmed.runner().id());
    assertEquals(kept.hostKey(), confirmed.runner().hostKey());
    fleet.fleet.verify(kept.id(), restarted, testKit.system()).toCompletableFuture().get();
    assertEquals(confirmed, ask(restarted, r -> new Lease("s1", "standard", far, r)), "the same lease again");
    assertEquals(new LeaseRefused("s2", "runner " + ended.id() + " is not leased to session s2"),
        ask(restarted, r -> new Confirm("s2", ended.id(), r)));
    RunnerInfo other = ((Leased) ask(restarted, r -> new Lease("s3", "standard", far, r))).runner();
    assertNotEquals(kept.id(), other.id(), "never leased twice");
  }
}
