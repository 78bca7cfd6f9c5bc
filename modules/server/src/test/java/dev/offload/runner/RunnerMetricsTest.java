package dev.offload.runner;

import static dev.offload.runner.Fleet.WAIT;
import static dev.offload.runner.Fleet.awaitRunners;
import static dev.offload.runner.Fleet.count;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import dev.offload.runner.RunnerPool.Command;
import dev.offload.runner.RunnerPool.Lease;
import dev.offload.runner.RunnerPool.LeaseReply;
import dev.offload.runner.RunnerPool.Leased;
import dev.offload.runner.RunnerPool.Release;
import dev.offload.testing.Await;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pool's figures as /metrics shows them (the JVM's default registry). */
class RunnerMetricsTest {

  @TempDir Path dataDir;
  private ActorTestKit testKit;
  private Fleet fleet;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(
        ConfigFactory.parseString("akka.actor.provider = local")
            .withFallback(PersistenceTestKitPlugin.getInstance().config())
            .withFallback(PersistenceTestKitSnapshotPlugin.config()));
    fleet = Fleet.start(dataDir, 1, 1, Duration.ofMillis(200), Duration.ofMinutes(1));
  }

  @AfterEach
  void stop() throws Exception {
    testKit.shutdownTestKit();
    fleet.close();
  }

  private static String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      new PrometheusTextFormatWriter(false).write(out, PrometheusRegistry.defaultRegistry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The sample's value, 0 when the series is not there yet: figures are per JVM, shared by tests. */
  private static double value(String series) {
    return scrape().lines()
        .filter(line -> line.startsWith(series + " "))
        .mapToDouble(line -> Double.parseDouble(line.substring(series.length() + 1).trim()))
        .findFirst()
        .orElse(0);
  }

  private static void awaitValue(String series, Predicate<Double> done) {
    Await.until(WAIT, () -> value(series), done, series);
  }

  @Test
  void runnersByStateLeaseWaitWipeTimeAndHealthFailures() {
    String leaseWaits = "offload_runner_lease_wait_seconds_count{class=\"standard\"}";
    String wipes = "offload_runner_wipe_seconds_count{class=\"standard\",outcome=\"wiped\"}";
    String healthFailures = "offload_runner_health_failures_total{class=\"standard\"}";
    double leaseWaitsBefore = value(leaseWaits);
    double wipesBefore = value(wipes);
    double healthFailuresBefore = value(healthFailures);
    ActorRef<Command> pool = testKit.spawn(RunnerPool.create(fleet.fleet, new Sessions(), Clock.systemUTC()));
    awaitRunners(testKit, pool, r -> count(r, "warm") == 1, "a warm runner");
    awaitValue("offload_runners{class=\"standard\",state=\"warm\"}", v -> v == 1);

    TestProbe<LeaseReply> probe = testKit.createTestProbe();
    pool.tell(new Lease("s1", "standard", Instant.now().plusSeconds(60), probe.ref()));
    RunnerInfo runner = probe.expectMessageClass(Leased.class, WAIT).runner();
    awaitValue("offload_runners{class=\"standard\",state=\"leased\"}", v -> v == 1);
    assertEquals(leaseWaitsBefore + 1, value(leaseWaits));

    pool.tell(new Release("s1", runner.id()));
    awaitValue(wipes, v -> v == wipesBefore + 1);

    fleet.touch("engine-down");
    awaitValue(healthFailures, v -> v > healthFailuresBefore);
  }
}
