package dev.offload.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.ActorSystem;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import dev.offload.testing.Await;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client's bytes on their way to the engine: in order, batched, bounded when the engine is slow. */
class EngineWriterTest {
  private static ActorSystem system;
  private static ExecutorService blocking;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("engine-writer-test");
    blocking = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    blocking.shutdownNow();
  }

  @Test
  void aSlowEngineStopsTheClientWithBoundedBytesWaiting() throws Exception {
    byte[] data = new byte[8 * 1024 * 1024];
    new Random(3).nextBytes(data);
    int message = 16 * 1024;
    ByteArrayOutputStream engine = new ByteArrayOutputStream();
    Semaphore writes = new Semaphore(0); // the engine takes a batch only when the test lets it
    AtomicInteger batches = new AtomicInteger();
    AtomicInteger finished = new AtomicInteger();
    AtomicLong taken = new AtomicLong();
    CompletableFuture<Void> allWritten = new CompletableFuture<>();
    EngineWriter writer = new EngineWriter(blocking, items -> {
      writes.acquireUninterruptibly();
      batches.incrementAndGet();
      for (ClientMessages.Item item : items) {
        ByteString bytes = ((ClientMessages.Data) item).bytes();
        engine.writeBytes(bytes.toArray());
      }
    }, () -> {
      finished.incrementAndGet();
      allWritten.complete(null);
    });
    AtomicLong offered = new AtomicLong();
    Source.range(0, data.length / message - 1)
        .map(i -> {
          offered.addAndGet(message);
          return (ClientMessages.Item) new ClientMessages.Data(ByteString.fromArray(data, i * message, message));
        })
        .runWith(writer.sink(), system);

    Await.until(Duration.ofSeconds(30), writer::waitingBytes,
        waiting -> waiting >= EngineWriter.BATCH, "a full batch to wait for the engine");
    // At most a batch in the writer's hands and a full one waiting; then the client is held.
    assertTrue(offered.get() <= 2L * (EngineWriter.BATCH + message),
        "taken from the client while the engine wrote nothing: " + offered.get());

    writes.release(Integer.MAX_VALUE / 2);
    allWritten.get(60, TimeUnit.SECONDS);
    assertArrayEquals(data, engine.toByteArray(), "the bytes, in order, unchanged");
    assertTrue(batches.get() < data.length / message, batches.get() + " batches for "
        + data.length / message + " messages");
    assertEquals(1, finished.get());
    assertEquals(0, writer.waitingBytes());
  }
}
