package dev.offload.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.JournalOperation;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import akka.persistence.testkit.ProcessingPolicy;
import akka.persistence.testkit.ProcessingResult;
import akka.persistence.testkit.ProcessingSuccess$;
import akka.persistence.testkit.WriteEvents;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseRefused;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.RunnerLeased;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunnerPoolConcurrencyTest {

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private ExecutorService askers;
  private Fleet fleet;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
    askers = Executors.newFixedThreadPool(50);
  }

  @AfterEach
  void stop() throws Exception {
    askers.shutdownNow();
    askers.awaitTermination(10, TimeUnit.SECONDS);
    testKit.shutdownTestKit();
    fleet.close();
  }

  @Test
  void fiftySessionsRaceForFiveRunners() throws Exception {
    fleet = Fleet.start(dataDir, 5, 5);
    ActorRef<Command> pool = testKit.spawn(RunnerPool.create(fleet.fleet, new Sessions(), Clock.systemUTC()));
    Fleet.awaitRunners(testKit, pool, r -> Fleet.count(r, "warm") == 5, "five warm runners");
    Instant deadline = Instant.now().plusMillis(500);
    CountDownLatch go = new CountDownLatch(1);

    List<CompletableFuture<LeaseReply>> replies = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      String session = "s" + i;
      replies.add(CompletableFuture.supplyAsync(() -> {
        awaitQuietly(go);
        return AskPattern.<Command, LeaseReply>ask(pool,
                replyTo -> new Lease(session, "standard", deadline, replyTo),
                Duration.ofSeconds(20), testKit.scheduler())
            .toCompletableFuture().join();
      }, askers));
    }
    go.countDown();
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

    List<Leased> leased = replies.stream().map(CompletableFuture::join)
        .filter(Leased.class::isInstance).map(Leased.class::cast).toList();
    List<LeaseRefused> refused = replies.stream().map(CompletableFuture::join)
        .filter(LeaseRefused.class::isInstance).map(LeaseRefused.class::cast).toList();
    assertEquals(5, leased.size());
    assertEquals(5, leased.stream().map(l -> l.runner().id()).distinct().count());
    assertEquals(45, refused.size());
    refused.forEach(r -> assertEquals(
        "no standard runner became free before the provisioning deadline", r.reason()));

    List<Object> journal = PersistenceTestKit.create(testKit.system()).persistedInStorage("runner-pool");
    assertEquals(5, journal.stream().filter(RunnerLeased.class::isInstance).count());
    assertEquals(
        leased.stream().collect(Collectors.toMap(l -> l.runner().id(), Leased::sessionId)),
        journal.stream().filter(RunnerLeased.class::isInstance).map(RunnerLeased.class::cast)
            .collect(Collectors.toMap(RunnerLeased::runnerId, RunnerLeased::sessionId)));
  }

  @Test
  void leasesDecidedWhileTheJournalWritesShareTheNextWrite() throws Exception {
    fleet = Fleet.start(dataDir, 10, 10);
    ActorRef<Command> pool = testKit.spawn(RunnerPool.create(fleet.fleet, new Sessions(), Clock.systemUTC()));
    Fleet.awaitRunners(testKit, pool, r -> Fleet.count(r, "warm") == 10, "ten warm runners");
    CountDownLatch allSent = new CountDownLatch(1);
    List<Integer> leaseWrites = Collections.synchronizedList(new ArrayList<>());
    PersistenceTestKit.create(testKit.system()).withPolicy(new ProcessingPolicy<JournalOperation>() {
      @Override
      public ProcessingResult tryProcess(String persistenceId, JournalOperation operation) {
        if (operation instanceof WriteEvents write
            && write.getBatch().stream().anyMatch(RunnerLeased.class::isInstance)) {
          leaseWrites.add(write.getBatch().size());
          if (leaseWrites.size() == 1) {
            awaitQuietly(allSent); // the first write lasts until every lease is queued
          }
        }
        return ProcessingSuccess$.MODULE$;
      }
    });

    TestProbe<LeaseReply> replies = testKit.createTestProbe();
    Instant deadline = Instant.now().plusSeconds(20);
    for (int i = 0; i < 10; i++) {
      pool.tell(new Lease("s" + i, "standard", deadline, replies.ref()));
    }
    allSent.countDown();

    List<LeaseReply> answers = replies.receiveSeveralMessages(10, Duration.ofSeconds(10));
    assertEquals(10, answers.stream().filter(Leased.class::isInstance).map(a -> ((Leased) a).runner().id()).distinct().count());
    // Every lease queued while a write is under way goes in the next one, so ten leases take at
    // most two writes however the tells interleave with the first; a write per lease would be ten.
    assertEquals(10, leaseWrites.stream().mapToInt(Integer::intValue).sum());
    assertTrue(leaseWrites.size() <= 2, "leases written " + leaseWrites + " at a time");
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
